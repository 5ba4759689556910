import { createServer, type Server } from 'node:http';

/**
 * A loopback-only HTTP endpoint: GET /status returns the live counts and the process's memory as
 * JSON (tests and operators). `/status?gc=1` first runs a full garbage collection when Node was
 * started with --expose-gc, so that heapUsedBytes is what is really held (the benchmark's figure).
 */
export function startAdmin(port: number, status: () => object): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/status' || req.url === '/status?gc=1')) {
      const gc = req.url === '/status?gc=1' ? (globalThis as { gc?: () => void }).gc : undefined;
      gc?.();
      const m = process.memoryUsage();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...status(), rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers, gcRun: gc !== undefined }));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
