import { createServer, type Server } from 'node:http';

/** A loopback-only HTTP endpoint: GET /status returns the live counts as JSON (tests and operators). */
export function startAdmin(port: number, status: () => object): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status()));
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
