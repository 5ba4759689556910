import { getHeaderValues, type SipRequest } from '../sip/message.js';
import { parseNameAddr } from '../sip/nameAddr.js';
import { bareHost, parseUri, uriParam, type SipUri } from '../sip/uri.js';
import { sharedDestination, type SharedDestination } from '../transport/sharedAddress.js';

/** Where a request is sent: address, port and transport (RFC 3263 reduced to what a LAN needs). */
export type Destination = SharedDestination;

/**
 * The destination for a URI (§16.6 step 7, RFC 3263 §4): `maddr` wins over the host; the port
 * defaults to 5060 (5061 for sips); the transport comes from the `transport` parameter. The
 * object is shared by every request to that destination (src/transport/sharedAddress.ts).
 */
export function destinationOf(uri: SipUri): Destination {
  const maddr = uriParam(uri, 'maddr');
  const host = bareHost(maddr ?? uri.host);
  const t = (uriParam(uri, 'transport') ?? '').toLowerCase();
  return sharedDestination(host, uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060), t === 'tcp' ? 'tcp' : 'udp');
}

/**
 * The next hop of a request being forwarded (§16.6 step 6-7): the top Route if there is one,
 * else the Request-URI. Null when the URI to use is not a SIP URI.
 */
export function nextHopOf(req: SipRequest): Destination | null {
  const top = getHeaderValues(req, 'route')[0];
  if (top !== undefined) {
    const na = parseNameAddr(top);
    return na?.uri ? destinationOf(na.uri) : null;
  }
  const uri = parseUri(req.uri);
  return uri ? destinationOf(uri) : null;
}
