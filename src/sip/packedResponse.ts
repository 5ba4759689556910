import type { SipHeader, SipResponse } from './message.js';
import { parseDatagram } from './parser.js';

/**
 * A response held as its wire text (start line and header fields, Content-Length stating the
 * body): what a server transaction is given to send. The transaction may send it again for a
 * retransmitted request (RFC 3261 §17.2.1, §17.2.2), and a non-INVITE server transaction keeps it
 * for the 32 s of Timer J (64*T1). A parsed response keeps a list of header objects whose values
 * are cuts from the text it was relayed from, which V8 keeps whole; one flat string holds the same
 * bytes in about a third of the memory (BENCHMARKS.md, profile finding 24).
 */
export class PackedResponse implements SipResponse {
  constructor(
    readonly status: number,
    readonly reason: string,
    /** The header section as sent, ending in the empty line. */
    readonly head: string,
    readonly body: Buffer,
  ) {}

  get kind(): 'response' {
    return 'response';
  }

  /** Parsed again from the text when asked for (only diagnostics do). */
  get headers(): readonly SipHeader[] {
    const parsed = parseDatagram(Buffer.concat([Buffer.from(this.head, 'utf8'), this.body]));
    return parsed.ok ? parsed.message.headers : [];
  }
}
