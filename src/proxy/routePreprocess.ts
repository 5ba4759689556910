import { getHeaderValues, withoutFirstValue, withoutHeader, header, type SipHeader, type SipRequest } from '../sip/message.js';
import { parseNameAddr } from '../sip/nameAddr.js';
import { parseUri, uriParam } from '../sip/uri.js';
import type { LocalIdentity } from './localIdentity.js';

/**
 * Route information preprocessing (RFC 3261 §16.4).
 * 1. Strict-router compatibility: if the Request-URI is a URI we put into a Record-Route, the
 *    previous hop was a strict router; the real Request-URI is the last Route value.
 * 2. Loose routing: if the top Route names us, remove it (and any further ones of ours right after).
 */
export function preprocessRoute(req: SipRequest, me: LocalIdentity): SipRequest {
  let out = req;
  const routes = getHeaderValues(req, 'route');
  const ruri = parseUri(req.uri);
  if (routes.length > 0 && ruri && me.isOwnRecordRouteUri(ruri) && uriParam(ruri, 'lr') !== undefined) {
    const last = parseNameAddr(routes[routes.length - 1]!);
    if (last) {
      const rest = routes.slice(0, -1);
      out = { ...out, uri: last.uriText, headers: replaceRoutes(out.headers, rest) };
    }
  }
  // Every leading Route of ours goes: a spiral leaves our Record-Route in the route set twice,
  // and forwarding to ourselves would only come back as a false loop. Counted in one pass and
  // taken off at once: a request may carry thousands of them (taking them one by one re-split the
  // whole list each time, half a second for 60 KB of Route).
  const left = out === req ? routes : getHeaderValues(out, 'route');
  let ours = 0;
  while (ours < left.length) {
    const na = parseNameAddr(left[ours]!);
    // A Route "indicates this proxy" by its host and port (§16.4); a user part, which some
    // elements write into the Record-Route they copy, changes nothing.
    if (!(na?.uri && me.isOwnUri(na.uri))) break;
    ours++;
  }
  if (ours === 0) return out;
  if (ours === 1) return { ...out, headers: withoutFirstValue(out.headers, 'route') };
  return { ...out, headers: replaceRoutes(out.headers, left.slice(ours)) };
}

/**
 * The request reached us through a Route we put in a Record-Route (loose routing, §16.4), or
 * with our Record-Route URI as its Request-URI (a strict router before us, §16.4).
 */
export function routedByUs(received: SipRequest, me: LocalIdentity): boolean {
  const top = getHeaderValues(received, 'route')[0];
  const route = top !== undefined ? parseNameAddr(top)?.uri : undefined;
  if (route && me.isOwnUri(route)) return true;
  const ruri = parseUri(received.uri);
  return ruri !== null && me.isOwnRecordRouteUri(ruri);
}

/** The header list with all Route lines replaced by `routes` (one line each, at the first Route's place). */
function replaceRoutes(headers: readonly SipHeader[], routes: string[]): SipHeader[] {
  const at = headers.findIndex((h) => h.key === 'route');
  const rest = withoutHeader(headers, 'route');
  rest.splice(at < 0 ? rest.length : at, 0, ...routes.map((r) => header('Route', r)));
  return rest;
}
