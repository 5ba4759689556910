import { type SipHeader, type SipRequest, type SipResponse } from '../sip/message.js';
import { getParam, setParam } from '../sip/params.js';
import { splitList } from '../sip/split.js';
import { bareHost } from '../sip/uri.js';
import { sharedAddress } from './sharedAddress.js';
import { formatVia, parseVia, type Via } from '../sip/via.js';

export interface Address {
  host: string;
  port: number;
}

/**
 * Server-side Via processing on receipt of a request (RFC 3261 §18.2.1, RFC 3581 §4): add
 * `received` when the sent-by host differs from the packet's source address, and when `rport` is
 * present, set it to the source port (and always add `received` then). `received` and `rport` are
 * the server's to write: values a client put there itself are replaced by what the packet shows,
 * or the replies would go wherever the client said (another host, another socket).
 */
export function stampTopVia(req: SipRequest, source: Address): SipRequest {
  const line = req.headers.find((h) => h.key === 'via');
  const via = line ? parseVia((line.value.includes(',') ? splitList(line.value)[0] : line.value) ?? '') : null;
  if (!via) return req;
  const stamped = stampedVia(via, source);
  return stamped === via ? req : withTopVia(req, stamped);
}

/** The request with `via` as the first value of its first Via line (the one it was parsed from). */
export function withTopVia(req: SipRequest, via: Via): SipRequest {
  const i = req.headers.findIndex((h) => h.key === 'via');
  if (i < 0) return req;
  const line = req.headers[i]!;
  const values = line.value.includes(',') ? splitList(line.value) : [line.value];
  values[0] = formatVia(via);
  const headers: SipHeader[] = req.headers.slice();
  headers[i] = { ...line, value: values.join(', ') };
  return { ...req, headers };
}

/**
 * The top Via as §18.2.1 and RFC 3581 §4 stamp it (see `stampTopVia`), or `via` itself when it
 * needs nothing. A server transaction's reply address is `responseAddress` of this.
 */
export function stampedVia(via: Via, source: Address): Via {
  const rport = getParam(via.params, 'rport');
  const received = getParam(via.params, 'received');
  const needReceived = bareHost(via.host) !== bareHost(source.host) || rport !== undefined || received !== undefined;
  const receivedRight = !needReceived || received === source.host;
  const rportRight = rport === undefined || rport === String(source.port);
  if (receivedRight && rportRight) return via;
  let params = via.params;
  if (!receivedRight) params = setParam(params, 'received', source.host);
  if (!rportRight) params = setParam(params, 'rport', String(source.port));
  return { ...via, params };
}

/**
 * Where a response goes (RFC 3261 §18.2.2 for unreliable transports, RFC 3581 §4): to `received`
 * (else the sent-by host), at `rport` (else the sent-by port, else 5060); `maddr` wins when present.
 */
export function responseAddress(via: Via): Address {
  const maddr = getParam(via.params, 'maddr');
  if (maddr) return sharedAddress(bareHost(maddr), via.port ?? 5060);
  const received = getParam(via.params, 'received');
  const rport = getParam(via.params, 'rport');
  const rp = rport && /^\d{1,5}$/.test(rport) ? Number(rport) : 0;
  const port = rp > 0 && rp < 65536 ? rp : (via.port ?? 5060);
  return sharedAddress(bareHost(received ?? via.host), port);
}

/** The address a response should be sent to, read from its top Via. */
export function responseAddressOf(res: SipResponse | SipRequest): Address | null {
  const line = res.headers.find((h) => h.key === 'via');
  if (!line) return null;
  const via = parseVia(splitList(line.value)[0] ?? '');
  return via ? responseAddress(via) : null;
}

