import type { SipMessage, SipResponse } from './message.js';
import { PackedResponse } from './packedResponse.js';
import { flattened } from '../util/ownString.js';

/**
 * Writes a message to wire bytes (RFC 3261 §7). Header lines are written as they are held (name
 * as received, value unfolded); Content-Length always states the body's real length, so a
 * message is framed correctly on any transport (§18.3, §20.14).
 */
export function serialize(msg: SipMessage | PackedResponse): Buffer {
  const head = msg instanceof PackedResponse ? msg.head : headText(msg);
  if (msg.body.length === 0) return Buffer.from(head, 'utf8');
  const headBytes = Buffer.from(head, 'utf8');
  return Buffer.concat([headBytes, msg.body], headBytes.length + msg.body.length);
}

/** The response as its wire text, to be sent and perhaps resent (see packedResponse.ts). */
export function packResponse(res: SipResponse): PackedResponse {
  // Built by concatenation, partly of cuts from the message it was relayed from.
  return new PackedResponse(res.status, res.reason, flattened(headText(res)), res.body);
}

/** The start line and header fields, ending in the empty line. */
function headText(msg: SipMessage): string {
  let head = msg.kind === 'request' ? `${msg.method} ${msg.uri} SIP/2.0\r\n` : `SIP/2.0 ${msg.status} ${msg.reason}\r\n`;
  let wroteLength = false;
  for (const h of msg.headers) {
    if (h.key === 'content-length') {
      if (wroteLength) continue;
      wroteLength = true;
      head += `${h.name}: ${msg.body.length}\r\n`;
    } else head += `${h.name}: ${h.value}\r\n`;
  }
  if (!wroteLength) head += `Content-Length: ${msg.body.length}\r\n`;
  return `${head}\r\n`;
}
