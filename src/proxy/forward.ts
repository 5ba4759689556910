import { getHeaderValues, header, prependHeader, withHeader, withoutFirstValue, type SipHeader, type SipRequest } from '../sip/message.js';
import { parseNameAddr } from '../sip/nameAddr.js';
import { uriParam } from '../sip/uri.js';
import type { LocalIdentity } from './localIdentity.js';
import { nextMaxForwards } from './maxForwards.js';

/** Requests that can create a dialog, so the proxy Record-Routes them (§16.6 step 4, RFC 3265, RFC 3515). */
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);

export interface ForwardOptions {
  /** The new Request-URI (a target from the target set, §16.5), or undefined to keep it. */
  target?: string;
  branch: string;
  /** Whether to add Record-Route: initial requests that can make a dialog. */
  recordRoute: boolean;
}

/**
 * Builds the request to forward to one target (RFC 3261 §16.6): copy, Request-URI, Max-Forwards
 * minus one, Record-Route, strict-route fix-up of the next hop, and our Via on top. Every header
 * we do not touch goes out exactly as it came in.
 */
export function buildForwardedRequest(req: SipRequest, me: LocalIdentity, opts: ForwardOptions): SipRequest {
  let uri = opts.target ?? req.uri;
  let headers: SipHeader[] = withHeader(req.headers, 'Max-Forwards', String(nextMaxForwards(req)));
  if (opts.recordRoute) headers = prependHeader(headers, 'Record-Route', me.recordRoute);
  // §16.6 step 6: a next hop without `lr` is a strict router: it gets the Request-URI in the Route set.
  const top = getHeaderValues({ headers, body: req.body }, 'route')[0];
  if (top !== undefined) {
    const na = parseNameAddr(top);
    if (na?.uri && uriParam(na.uri, 'lr') === undefined) {
      headers = withoutFirstValue(headers, 'route');
      const lastRoute = headers.map((h) => h.key).lastIndexOf('route');
      headers.splice(lastRoute < 0 ? headers.length : lastRoute + 1, 0, header('Route', `<${uri}>`));
      uri = na.uriText;
    }
  }
  headers = prependHeader(headers, 'Via', `SIP/2.0/UDP ${me.hostPort};branch=${opts.branch}`);
  return { kind: 'request', method: req.method, uri, headers, body: req.body };
}

export function isDialogCreating(method: string): boolean {
  return DIALOG_CREATING.has(method);
}
