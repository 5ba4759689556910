import type { Supervisor, Transport } from './supervisor.js';
import type { Address } from '../transport/viaAddressing.js';

/**
 * Two user agents played message by message against a Supervisor with no sockets: a callee that
 * registers and a caller that calls it (INVITE, 100, 180, 200, ACK, BYE, 200 through location
 * lookup and Record-Route). The JIT warm-up at start runs it (src/actors/warmUp.ts), and
 * bench/hotpath.ts times it.
 */

/** A Transport that keeps what the proxy sends, for the user agents to take. */
export class LoopbackWire implements Transport {
  readonly out: Array<{ text: string; port: number }> = [];

  send(data: Buffer, _host: string, port: number): void {
    this.out.push({ text: data.toString('latin1'), port });
  }

  /** The first message sent to `port` whose text starts with `startsWith`, taken off the wire. */
  take(port: number, startsWith: string): string {
    const i = this.out.findIndex((m) => m.port === port && m.text.startsWith(startsWith));
    if (i < 0) throw new Error(`nothing starting with "${startsWith}" reached port ${port}: ${this.out.map((m) => `${m.port} ${m.text.split('\r\n')[0]}`).join(' | ')}`);
    return this.out.splice(i, 1)[0]!.text;
  }
}

/**
 * `data` as Node's dgram hands a datagram to a 'message' listener: a Uint8Array over the bytes
 * whose prototype is then set to Buffer's (node_buffer.cc). Such a Buffer has another hidden class
 * than one from `Buffer.from`, and code V8 had optimized on the warm-up's `Buffer.from` datagrams
 * was thrown away at the first real one ("wrong map" in the parser, `--trace-deopt`; finding 41).
 */
export function asReceived(data: Buffer): Buffer {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.length);
  Object.setPrototypeOf(view, Buffer.prototype);
  return view as Buffer;
}

/** Header lines of `text` whose name is in `names` (lower case), in order. */
function headerLines(text: string, names: string[]): string[] {
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return head.split('\r\n').slice(1).filter((l) => names.includes(l.slice(0, l.indexOf(':')).trim().toLowerCase()));
}

/**
 * A response to the request `text`, as its UAS builds it (§8.2.6): the To tag added when given.
 * `joinVias`: the Via values copied as one comma-separated line (§7.3.1), as SIPp and some
 * phones write them, instead of one line each.
 */
function answer(text: string, status: string, toTag: string | null, extra: string[] = [], joinVias = false): Buffer {
  let lines = headerLines(text, ['via', 'from', 'to', 'call-id', 'cseq', 'record-route']).map((l) =>
    toTag && /^to\s*:/i.test(l) && !/;tag=/.test(l) ? `${l};tag=${toTag}` : l,
  );
  if (joinVias) {
    const vias = lines.filter((l) => /^via\s*:/i.test(l)).map((l) => l.slice(l.indexOf(':') + 1).trim());
    lines = [`Via: ${vias.join(', ')}`, ...lines.filter((l) => !/^via\s*:/i.test(l))];
  }
  return Buffer.from(`SIP/2.0 ${status}\r\n${[...lines, ...extra, 'Content-Length: 0'].join('\r\n')}\r\n\r\n`);
}

export class SyntheticTraffic {
  constructor(
    private readonly sup: Supervisor,
    private readonly wire: LoopbackWire,
    private readonly proxy: Address,
    private readonly caller: Address,
    private readonly callee: Address,
  ) {}

  /** A datagram from `from` into the supervisor, shaped as a socket delivers it. */
  private receive(data: Buffer, from: Address): void {
    this.sup.receive(asReceived(data), from);
  }

  private request(method: string, uri: string, n: number, branch: string, cseq: number, extra: string[], toTag: string | null): Buffer {
    const { caller, proxy } = this;
    return Buffer.from(
      [
        `${method} ${uri} SIP/2.0`,
        // Every other call without rport (RFC 3581), as SIPp sends it.
        `Via: SIP/2.0/UDP ${caller.host}:${caller.port};branch=z9hG4bK-${branch}-${n}${n % 2 === 0 ? ';rport' : ''}`,
        `From: <sip:caller@${proxy.host}>;tag=c${n}`,
        `To: <sip:callee@${proxy.host}>${toTag ? `;tag=${toTag}` : ''}`,
        `Call-ID: call-${n}@${caller.host}`,
        `CSeq: ${cseq} ${method}`,
        'Max-Forwards: 70',
        ...extra,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  }

  /** The callee registers its contact (an hour): the calls below find it by location lookup. */
  register(n = 0): void {
    const { callee, proxy } = this;
    this.receive(
      Buffer.from(
        [
          `REGISTER sip:${proxy.host} SIP/2.0`,
          `Via: SIP/2.0/UDP ${callee.host}:${callee.port};branch=z9hG4bK-reg-${n}`,
          `From: <sip:callee@${proxy.host}>;tag=r${n}`,
          `To: <sip:callee@${proxy.host}>`,
          'Call-ID: reg@synthetic',
          `CSeq: ${n + 1} REGISTER`,
          `Contact: <sip:callee@${callee.host}:${callee.port}>`,
          'Expires: 3600',
          'Max-Forwards: 70',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      ),
      callee,
    );
    this.wire.take(callee.port, 'SIP/2.0 200');
  }

  /**
   * Call `n`, from the INVITE to the BYE's 200; throws if the proxy does not pass a message on.
   * Odd calls are written as SIPp writes them (the proxy's port in the Request-URI, no rport, the
   * callee's Vias on one line): the warm-up then meets both forms, and real traffic finds no code
   * path the warm-up did not take (BENCHMARKS.md, finding 40).
   */
  call(n: number): void {
    const { wire, caller, callee, proxy } = this;
    const sippStyle = n % 2 === 1;
    // The callee's tag sorts before the caller's (c...) on every other call, after it on the rest:
    // a dialog's key is built from the two tags in order (transactionKeys.ts), both ways.
    const toTag = `${n % 4 < 2 ? 'e' : 'a'}${n}`;
    const target = sippStyle ? `sip:callee@${proxy.host}:${proxy.port}` : `sip:callee@${proxy.host}`;
    this.receive(this.request('INVITE', target, n, 'inv', 1, [`Contact: <sip:caller@${caller.host}:${caller.port}>`], null), caller);
    wire.take(caller.port, 'SIP/2.0 100');
    const inv = wire.take(callee.port, 'INVITE');
    const calleeContact = `Contact: <sip:callee@${callee.host}:${callee.port}>`;
    this.receive(answer(inv, '100 Trying', null, [], sippStyle), callee);
    this.receive(answer(inv, '180 Ringing', toTag, [calleeContact], sippStyle), callee);
    wire.take(caller.port, 'SIP/2.0 180');
    this.receive(answer(inv, '200 OK', toTag, [calleeContact], sippStyle), callee);
    const ok = wire.take(caller.port, 'SIP/2.0 200');
    // The caller's route set is the Record-Route of the 2xx (§12.1.2): here, the proxy alone.
    const route = headerLines(ok, ['record-route']).map((l) => l.replace(/^record-route/i, 'Route'));
    const dialogUri = `sip:callee@${callee.host}:${callee.port}`;
    this.receive(this.request('ACK', dialogUri, n, 'ack', 1, route, toTag), caller);
    wire.take(callee.port, 'ACK');
    this.receive(this.request('BYE', dialogUri, n, 'bye', 2, route, toTag), caller);
    const bye = wire.take(callee.port, 'BYE');
    this.receive(answer(bye, '200 OK', null, [], sippStyle), callee);
    wire.take(caller.port, 'SIP/2.0 200');
    wire.out.length = 0;
  }
}
