import { countHeaderLines, getHeader, type SipRequest } from '../sip/message.js';
import { splitList } from '../sip/split.js';
import type { Rejection } from './validate.js';

/** Limits on what one request may carry (like Kamailio's sanity module and maxbuffer). */
export interface SanityLimits {
  maxViaCount: number;
  maxUriLength: number;
}

export const DEFAULT_SANITY_LIMITS: SanityLimits = { maxViaCount: 70, maxUriLength: 1024 };

/**
 * Headers without which a request cannot be handled (RFC 3261 §8.1.1). Max-Forwards is not among
 * them although a UAC must send it: §16.3 step 3 lets a request without one pass and §16.6 step 3
 * forwards it with 70, so an old or sloppy phone still gets through (its value, when present, is
 * checked by validateRequest).
 */
const REQUIRED = [
  ['to', 'To'],
  ['from', 'From'],
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
  ['via', 'Via'],
] as const;

/**
 * Request sanity before any routing: required headers present (§8.1.1), at most `maxViaCount`
 * Vias (a longer path is a loop or an attack), a Request-URI no longer than `maxUriLength` (414,
 * §21.4.12). Each rejection says in its reason phrase what was wrong.
 */
export function checkSanity(req: SipRequest, limits: SanityLimits): Rejection | null {
  for (const [key, name] of REQUIRED) {
    if (getHeader(req, key) === undefined) return { status: 400, reason: `Missing ${name}` };
  }
  if (req.uri.length > limits.maxUriLength) return { status: 414 };
  // Count cheaply: lines first, and only split the lines when they could hold too many.
  if (countHeaderLines(req, 'via') > limits.maxViaCount) return { status: 400, reason: 'Too many Via headers' };
  let vias = 0;
  for (const h of req.headers) if (h.key === 'via') vias += h.value.includes(',') ? splitList(h.value).length : 1;
  if (vias > limits.maxViaCount) return { status: 400, reason: 'Too many Via headers' };
  return null;
}
