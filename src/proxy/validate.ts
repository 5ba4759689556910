import { getHeaderValues, type SipRequest } from '../sip/message.js';
import type { MessageInfo } from '../sip/info.js';
import { parseUri } from '../sip/uri.js';
import { parseVia, viaBranch } from '../sip/via.js';
import { loopHash, loopPartOf } from './branch.js';
import type { LocalIdentity } from './localIdentity.js';
import { checkMaxForwards } from './maxForwards.js';
import { badExtension } from './require.js';

/** A rejection the proxy answers itself: status, reason and extra headers (§16.3). */
export interface Rejection {
  status: number;
  reason?: string;
  headers?: Array<[string, string]>;
}

/** Option tags this proxy supports in Proxy-Require (none yet). */
const SUPPORTED_PROXY_OPTIONS: ReadonlySet<string> = new Set<string>();

/**
 * Request validation (RFC 3261 §16.3) and the basic sanity of §8.2: a rejection, or null when the
 * request may be routed. The element answers OPTIONS at Max-Forwards 0 itself (§16.3 step 3),
 * which the caller handles before routing.
 */
export function validateRequest(req: SipRequest, info: MessageInfo, me: LocalIdentity): Rejection | null {
  // §8.2.2.1 / §16.3 step 1: a Request-URI we cannot parse, or a scheme we do not route.
  const uri = parseUri(req.uri);
  if (!uri) {
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(req.uri) && !/^sips?:/i.test(req.uri)) return { status: 416 };
    return { status: 400, reason: 'Bad Request-URI' };
  }
  // A SIPS Request-URI asks for TLS on every hop (§19.1, §26.2.2); this proxy has no TLS transport,
  // so it must not pass one on in the clear: 416, upon which the client may retry with sip: (§8.1.3.5).
  if (uri.scheme === 'sips') return { status: 416 };
  // §8.1.1.5: the CSeq method matches the request method.
  if (info.cseq.method !== req.method) return { status: 400, reason: 'CSeq method does not match' };
  // §16.3 step 3: Max-Forwards.
  const hops = checkMaxForwards(req);
  if (hops) return hops;
  // §16.3 step 4: loop detection against the Vias this proxy added before.
  if (isLooped(req, info, me)) return { status: 482 };
  // §16.3 step 5: Proxy-Require.
  return badExtension(req, 'proxy-require', SUPPORTED_PROXY_OPTIONS);
}

/**
 * Whether the request has passed this proxy before (one of the Vias is ours): a spiral, or a loop
 * that `validateRequest` answers 482. Most requests carry no Via of ours, which one substring test
 * per Via line shows.
 */
export function carriesOwnVia(req: SipRequest, me: LocalIdentity): boolean {
  if (!mentionsOwnHost(req, me)) return false;
  for (const text of getHeaderValues(req, 'via')) {
    const via = parseVia(text);
    if (via && me.isOwnSentBy(via.host, via.port)) return true;
  }
  return false;
}

function mentionsOwnHost(req: SipRequest, me: LocalIdentity): boolean {
  for (const h of req.headers) if (h.key === 'via' && h.value.includes(me.host)) return true;
  return false;
}

function isLooped(req: SipRequest, info: MessageInfo, me: LocalIdentity): boolean {
  if (!mentionsOwnHost(req, me)) return false;
  let mine: string[] | null = null;
  for (const text of getHeaderValues(req, 'via')) {
    const via = parseVia(text);
    if (!via || !me.isOwnSentBy(via.host, via.port)) continue;
    const part = loopPartOf(viaBranch(via));
    if (part) (mine ??= []).push(part);
  }
  if (!mine) return false;
  const h = loopHash(req, info);
  return mine.includes(h);
}
