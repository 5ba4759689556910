import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Where test ports come from: below the kernel's ephemeral range. A port the kernel handed out for
 * `bind(0)` and that was closed again can be handed to the next `bind(0)` of any process (a test's
 * UDP client, a proxy, a phone) before the sipp it was meant for binds it: in one CI run, sipp exited
 * "Address already in use". Ports under the ephemeral range are never handed out that way.
 */
function testPortRange(): [number, number] {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > 12_000) return [10_000, Math.min(low, 32_000)];
  } catch {
    /* not Linux: fall back to what bind(0) gives */
  }
  return [0, 0];
}

const [LOW, HIGH] = testPortRange();
/** Ports this test process has handed out already: never twice. */
const handedOut = new Set<number>();

function udpFree(port: number, host: string): Promise<number | null> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(null));
    s.bind(port, host, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** A UDP and TCP port that was free on `host` a moment ago, below the ephemeral range when it can. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const wanted = HIGH > LOW ? LOW + Math.floor(Math.random() * (HIGH - LOW)) : 0;
    if (handedOut.has(wanted)) continue;
    const port = await udpFree(wanted, host);
    if (port === null || handedOut.has(port) || !(await tcpFree(port, host))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port found');
}
