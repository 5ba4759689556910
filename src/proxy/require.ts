import { getHeaderValues, type SipRequest } from '../sip/message.js';
import { parseUri } from '../sip/uri.js';
import type { LocalIdentity } from './localIdentity.js';
import type { Rejection } from './validate.js';

/**
 * Option tags (RFC 3261 §19.2) this proxy supports where it answers as a UAS: none. Its registrar
 * keeps no Path (RFC 3327), no outbound flows (RFC 5626), no GRUU (RFC 5627); its 200 to an
 * OPTIONS says `Supported:` with nothing in it, and its 200 to a REGISTER has no Supported at all.
 */
export const UAS_OPTION_TAGS: ReadonlySet<string> = new Set<string>();

/**
 * 420 Bad Extension with `Unsupported` naming each option tag of `header` not in `supported`
 * (§8.2.2.3 for Require at a UAS, §16.3 step 5 for Proxy-Require), or null.
 */
export function badExtension(req: SipRequest, header: 'require' | 'proxy-require', supported: ReadonlySet<string>): Rejection | null {
  let unsupported: Set<string> | null = null;
  for (const tag of getHeaderValues(req, header)) {
    if (supported.has(tag.toLowerCase())) continue;
    (unsupported ??= new Set()).add(tag);
    // Enough to name: a datagram of thousands of tags must cost no more, nor make a 420 no
    // datagram can carry.
    if (unsupported.size === MAX_NAMED_TAGS) break;
  }
  return unsupported ? { status: 420, headers: [['Unsupported', [...unsupported].join(', ')]] } : null;
}

/** Option tags an Unsupported header names at most. */
const MAX_NAMED_TAGS = 32;

/**
 * A REGISTER for our registrar that requires an extension it lacks: 420, and nothing registered
 * (§10.3 step 2). A registrar that ignored `Require: path` would drop the Path, and requests to
 * the phone would skip the edge proxy it registered through (RFC 3327 §5.3). Checked on the
 * request with our Route taken off (§16.4), before its credentials (§10.3 orders step 2 before
 * step 3). A REGISTER for another domain is forwarded, and a proxy forwarding a request leaves
 * Require to the UAS (§16.3 checks only Proxy-Require).
 */
export function registrarRequireRejection(routed: SipRequest, me: LocalIdentity): Rejection | null {
  if (routed.method !== 'REGISTER' || !routed.headers.some((h) => h.key === 'require')) return null;
  if (routed.headers.some((h) => h.key === 'route')) return null;
  const ruri = parseUri(routed.uri);
  if (!ruri || !me.isLocalDomain(ruri)) return null;
  return badExtension(routed, 'require', UAS_OPTION_TAGS);
}
