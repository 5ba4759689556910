import { createServer, type Server } from 'node:http';

/**
 * A loopback-only HTTP endpoint: GET /status returns the live counts and the process's memory as
 * JSON (tests and operators); with --workers, added up over the workers. `/status?gc=1` first
 * runs a full garbage collection when Node was started with --expose-gc, so that heapUsedBytes is
 * what is really held (the benchmark's figure).
 */
export function startAdmin(port: number, status: (gc: boolean) => object | Promise<object>): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/status' || req.url === '/status?gc=1')) {
      const wantGc = req.url === '/status?gc=1';
      const gc = wantGc ? (globalThis as { gc?: () => void }).gc : undefined;
      gc?.();
      void Promise.resolve(status(wantGc)).then((s) => {
        const m = process.memoryUsage();
        res.writeHead(200, { 'content-type': 'application/json' });
        // A cluster's status brings its own memory figures (its workers'), which win.
        res.end(JSON.stringify({ rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers, gcRun: gc !== undefined, ...s }));
      }, () => res.writeHead(500).end());
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
