import { createServer } from 'node:http';
import type { InspectionEvent } from 'xstate';
import { WebSocket, WebSocketServer } from 'ws';

/** Where the Stately inspector page lives; the bridge page embeds it. */
const INSPECTOR_PAGE = 'https://stately.ai/inspect';
/** Events kept for a browser that connects late (the inspector then shows the recent past). */
const REPLAY_BUFFER = 200;

/**
 * The page served at http://localhost:PORT: it embeds Stately's inspector and hands it each event
 * from our WebSocket once the inspector says it is ready ('@statelyai.connected').
 */
function bridgePage(port: number): string {
  return `<!DOCTYPE html>
<html><head><title>sipstate machines</title>
<style>html,body,iframe{margin:0;height:100%;width:100%;border:0}</style></head>
<body><iframe id="inspector" src="${INSPECTOR_PAGE}"></iframe>
<script>
const frame = document.getElementById('inspector');
const waiting = [];
let ready = false;
window.addEventListener('message', (m) => {
  if (!m.data || m.data.type !== '@statelyai.connected') return;
  ready = true;
  for (const e of waiting.splice(0)) frame.contentWindow.postMessage(e, '*');
});
new WebSocket('ws://' + location.hostname + ':${port}').onmessage = (m) => {
  const e = JSON.parse(m.data);
  if (ready) frame.contentWindow.postMessage(e, '*'); else waiting.push(e);
};
</script></body></html>`;
}

export interface Inspector {
  inspect: (e: InspectionEvent) => void;
  stop: () => void;
}

/**
 * Opt-in live view of every machine in the Stately inspector. A relay on 127.0.0.1 only (the
 * events carry SIP headers and user names: not for the LAN) serves the bridge page and sends each
 * actor's inspection events to every browser connected. Rejects with a one-line reason when the
 * port cannot be bound.
 */
export async function startInspector(port: number): Promise<Inspector> {
  const http = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(bridgePage(port));
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`cannot start the inspector on 127.0.0.1:${port}: ${e.code === 'EADDRINUSE' ? 'the port is already in use' : e.message}`)),
    );
    http.listen(port, '127.0.0.1', () => resolve());
  });
  const wss = new WebSocketServer({ server: http });
  // Whatever one connection sends (the inspect client below) goes to every other (the browsers);
  // a browser that connects late first gets the recent past.
  const recent: string[] = [];
  wss.on('connection', (ws) => {
    for (const m of recent) ws.send(m);
    ws.on('message', (data) => {
      const m = data.toString();
      recent.push(m);
      if (recent.length > REPLAY_BUFFER) recent.shift();
      for (const other of wss.clients) if (other !== ws && other.readyState === WebSocket.OPEN) other.send(m);
    });
  });
  // The inspect package turns XState's inspection events into the inspector's messages.
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  const client = createWebSocketInspector({ url: `ws://127.0.0.1:${port}` });
  return {
    inspect: client.inspect as unknown as (e: InspectionEvent) => void,
    stop: () => {
      client.stop();
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.close();
    },
  };
}
