import type { ExecutionContext } from 'ava';
import { Supervisor } from '../../src/actors/supervisor.js';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import { Logger } from '../../src/util/logger.js';
import { FakeTransport, type Address } from './fakeTransport.js';

/** The proxy's own address in these tests (its local domain). */
export const PROXY = { host: '10.0.0.9', port: 5060 };

/** Keeps the warnings instead of printing them, for a test to read. */
class WarningsKept extends Logger {
  readonly warnings: string[] = [];
  override warn(msg: string): void {
    this.warnings.push(msg);
  }
}

/**
 * The real Supervisor in-process, for a test of one behaviour: datagrams in through `from`, what
 * the proxy sends caught by a FakeTransport, what it logs as a warning in `warnings`
 * (test/unit/supervisor.test.ts has the full fixture).
 */
export function inProcessProxy(t: ExecutionContext): { sup: Supervisor; net: FakeTransport; warnings: string[]; from(peer: Address, datagram: Buffer | string[]): void } {
  const net = new FakeTransport();
  const logger = new WarningsKept('warn');
  const sup = new Supervisor(net, { identity: new LocalIdentity(PROXY), timers: { t1: 10, t2: 40, t4: 50 }, logger });
  t.teardown(() => sup.stop());
  return { sup, net, warnings: logger.warnings, from: (peer, d) => sup.receive(Buffer.isBuffer(d) ? d : datagram(d), peer) };
}

/** A datagram of these lines: CRLF after each, then the blank line that ends the headers. */
export function datagram(lines: string[]): Buffer {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Registers `user` at `contact` (§10.2) and takes the 200 off the wire. */
export function register(c: ReturnType<typeof inProcessProxy>, peer: Address, user: string, contact: string): void {
  c.from(peer, [
    `REGISTER sip:${PROXY.host} SIP/2.0`,
    `Via: SIP/2.0/UDP ${peer.host}:${peer.port};branch=z9hG4bK-reg-${user}`,
    `From: <sip:${user}@${PROXY.host}>;tag=r-${user}`,
    `To: <sip:${user}@${PROXY.host}>`,
    `Call-ID: reg-${user}`,
    'CSeq: 1 REGISTER',
    `Contact: <${contact}>`,
    'Content-Length: 0',
  ]);
  const got = c.net.take(peer);
  if (got.length !== 1 || got[0]!.kind !== 'response' || got[0]!.status !== 200) throw new Error(`REGISTER of ${user} was not answered 200`);
}
