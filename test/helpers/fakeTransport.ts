import { parseDatagram } from '../../src/sip/parser.js';
import type { SipMessage } from '../../src/sip/message.js';
import type { Transport } from '../../src/actors/supervisor.js';

export interface Address {
  host: string;
  port: number;
}

/** One datagram the supervisor sent, parsed back with the real codec. */
export interface Sent {
  to: Address;
  bytes: Buffer;
  /** The parsed message; null when the proxy sent bytes our own parser rejects (see `unparseable`). */
  msg: SipMessage | null;
}

/**
 * A transport that sends nothing: it records every datagram, per destination, so a test can take
 * "what reached this peer since I last looked" and assert on the real bytes.
 */
export class FakeTransport implements Transport {
  readonly sent: Sent[] = [];
  readonly unparseable: Array<{ to: Address; error: string }> = [];
  private readonly seen = new Map<string, number>();
  private readonly raw = new WeakMap<SipMessage, Buffer>();

  send(data: Buffer, host: string, port: number): void {
    const bytes = Buffer.from(data);
    const parsed = parseDatagram(bytes);
    if (!parsed.ok) this.unparseable.push({ to: { host, port }, error: parsed.error });
    this.sent.push({ to: { host, port }, bytes, msg: parsed.ok ? parsed.message : null });
    if (parsed.ok) this.raw.set(parsed.message, bytes);
  }

  /** The exact bytes a message taken from this transport was sent as (to feed it back in). */
  bytesOf(msg: SipMessage): Buffer {
    const b = this.raw.get(msg);
    if (!b) throw new Error('not a message this transport carried');
    return b;
  }

  /** Every datagram ever sent to `to`. */
  all(to: Address): Sent[] {
    return this.sent.filter((s) => s.to.host === to.host && s.to.port === to.port);
  }

  /** The messages sent to `to` since the previous `take(to)`. */
  take(to: Address): SipMessage[] {
    const key = `${to.host}:${to.port}`;
    const all = this.all(to);
    const from = this.seen.get(key) ?? 0;
    this.seen.set(key, all.length);
    return all.slice(from).map((s) => {
      if (!s.msg) throw new Error(`the proxy sent ${to.host}:${to.port} bytes that do not parse`);
      return s.msg;
    });
  }
}
