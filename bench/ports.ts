/** Free loopback ports, and waiting for a process to bind its UDP port. */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

export const HOST = '127.0.0.1';

const handedOut = new Set<number>();

/** A UDP port on 127.0.0.1 that is free now (and not handed out before in this run). */
export async function freeUdpPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, HOST, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** A TCP port on 127.0.0.1 that is free now (the admin port). */
export async function freeTcpPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, HOST, () => {
        const a = srv.address();
        const p = typeof a === 'object' && a ? a.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface UdpSocketInfo {
  port: number;
  rxQueue: number;
  /** The socket's own drop counter (datagrams lost because its receive buffer was full). */
  drops: number;
}

/** The IPv4 UDP sockets bound on 127.0.0.1 (or any address), from /proc/net/udp. */
export function udpSockets(): UdpSocketInfo[] {
  const lines = readFileSync('/proc/net/udp', 'utf8').trim().split('\n').slice(1);
  const out: UdpSocketInfo[] = [];
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    const [addr, portHex] = (f[1] ?? '').split(':');
    if (addr !== '0100007F' && addr !== '00000000') continue;
    const [, rx] = (f[4] ?? '0:0').split(':');
    out.push({ port: parseInt(portHex ?? '0', 16), rxQueue: parseInt(rx ?? '0', 16), drops: Number(f[12] ?? 0) });
  }
  return out;
}

export function udpSocket(port: number): UdpSocketInfo | undefined {
  return udpSockets().find((s) => s.port === port);
}

/** Resolves once something listens on udp 127.0.0.1:port; rejects after `timeoutMs`. */
export async function waitUdpBound(port: number, timeoutMs: number, what: string, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (udpSocket(port)) return;
    if (!alive()) throw new Error(`${what} exited before binding udp:${HOST}:${port}`);
    await sleep(50);
  }
  throw new Error(`${what} did not bind udp:${HOST}:${port} within ${timeoutMs} ms`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
