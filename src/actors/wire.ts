import type { SipMessage } from '../sip/message.js';
import { serialize } from '../sip/serializer.js';

const cache = new WeakMap<SipMessage, Buffer>();

/** The wire bytes of a message, serialized once however often it is retransmitted. */
export function wireOf(msg: SipMessage): Buffer {
  let b = cache.get(msg);
  if (!b) {
    b = serialize(msg);
    cache.set(msg, b);
  }
  return b;
}
