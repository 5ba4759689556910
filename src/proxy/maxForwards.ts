import { getHeader, type SipRequest } from '../sip/message.js';
import type { Rejection } from './validate.js';

/** §16.6 step 3: what a request without Max-Forwards is forwarded with (the §8.1.1.6 default). */
const DEFAULT_MAX_FORWARDS = 70;

/**
 * A Max-Forwards value (§20.22): 1*DIGIT, 0 to 255; leading zeros change nothing. -1 for anything
 * else ("abc", "1.5", "1e3", "0x10", "256", empty), which Number() would have read as a number.
 */
export function parseMaxForwards(text: string): number {
  if (text.length === 0) return -1;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
    if (n > 255) return -1;
  }
  return n;
}

/**
 * §16.3 step 3, for every request the proxy would pass on, with or without a transaction: 400 for
 * a value that is no Max-Forwards, 483 when it has run out; null when the request may go on (a
 * request without one may: §16.6 step 3 gives it 70).
 */
export function checkMaxForwards(req: SipRequest): Rejection | null {
  const text = getHeader(req, 'max-forwards');
  if (text === undefined) return null;
  const n = parseMaxForwards(text);
  if (n < 0) return { status: 400, reason: 'Bad Request - Invalid Max-Forwards' };
  return n === 0 ? { status: 483 } : null;
}

/**
 * The Max-Forwards to send on (§16.6 step 3): one less, or 70 when the request had none. Callers
 * pass only what checkMaxForwards let through; a value it would refuse goes on as 0, so the next
 * hop stops it (483) rather than a loop running on.
 */
export function nextMaxForwards(req: SipRequest): number {
  const text = getHeader(req, 'max-forwards');
  return text === undefined ? DEFAULT_MAX_FORWARDS : Math.max(parseMaxForwards(text) - 1, 0);
}
