import type { SipMessage, SipRequest, SipResponse } from '../sip/message.js';
import type { PackedResponse } from '../sip/packedResponse.js';

/** What a transaction asks its owner to do or tells its transaction user (TU), as emitted events. */
export type TransactionEmitted =
  /** Hand a message to the transport (first send or retransmission). */
  | { type: 'transmit'; message: SipMessage | PackedResponse }
  /** A response to pass up to the TU (client transactions). */
  | { type: 'response'; response: SipResponse }
  /**
   * Timer B/F fired, or a proxy Timer C without a provisional: for an INVITE the TU counts it as a
   * 408 (§16.7 step 2, §16.8); for other requests as no answer at all (RFC 4320 §4.2).
   */
  | { type: 'timeout' }
  /** The INVITE client transaction wants this CANCEL sent for it (§9.1, §16.8). */
  | { type: 'sendCancel'; cancel: SipRequest }
  /** A server transaction gave up waiting for an ACK (Timer H). */
  | { type: 'ackTimeout' };
