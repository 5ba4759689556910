import type { SipResponse } from './message.js';

/**
 * A response held as its wire text (start line and header fields, Content-Length stating the
 * body): what a server transaction is given to send. The transaction may send it again for a
 * retransmitted request (RFC 3261 §17.2.1, §17.2.2), and a non-INVITE server transaction keeps it
 * for the 32 s of Timer J (64*T1). A parsed response keeps a list of header objects whose values
 * are cuts from the text it was relayed from, which V8 keeps whole: about 850 B for the 200 OK of
 * a BYE, about 330 B as one flat string here (BENCHMARKS.md, profile finding 24).
 *
 * Not a SipResponse: it has no header list to read or copy, so the compiler keeps it away from
 * code that would (a reason-phrase rewrite, Via stripping); only its status is for the machines.
 */
export class PackedResponse {
  constructor(
    readonly status: number,
    readonly reason: string,
    /** The header section as sent, ending in the empty line. */
    readonly head: string,
    readonly body: Buffer,
  ) {}
}

/** What a server transaction sends: a packed response from its TU, or one it built itself (its 100 Trying). */
export type OutgoingResponse = SipResponse | PackedResponse;
