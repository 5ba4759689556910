import type { SipRequest } from '../sip/message.js';
import type { MessageInfo } from '../sip/info.js';
import { formatVia, MAGIC_COOKIE, sentBy } from '../sip/via.js';
import { flattened } from '../util/ownString.js';

/**
 * The server transaction a request belongs to (RFC 3261 §17.2.3): branch + Via sent-by + method,
 * with ACK matching its INVITE. `method` overrides the method (CANCEL looks up its INVITE).
 * Without the magic cookie (an RFC 2543 peer) the key is built from Request-URI, From tag,
 * Call-ID, CSeq number and the whole top Via instead.
 */
export function serverTransactionKey(req: SipRequest, info: MessageInfo, method?: string): string {
  const m = method ?? (req.method === 'ACK' ? 'INVITE' : req.method);
  if (info.branch !== null && info.branch.startsWith(MAGIC_COOKIE)) return flattened(`${info.branch}|${sentBy(info.topVia)}|${m}`);
  return flattened(`2543|${req.uri}|${info.fromTag ?? ''}|${info.callId}|${info.cseq.seq}|${formatVia(info.topVia)}|${m}`);
}

/** The client transaction a response belongs to (§17.1.3): our branch + the CSeq method. */
export function clientTransactionKey(branch: string, method: string): string {
  return flattened(`${branch}|${method}`);
}

/** A dialog seen from a proxy: Call-ID and both tags, in either direction (§12). */
export function dialogKey(callId: string, tagA: string | null, tagB: string | null): string {
  const a = tagA ?? '';
  const b = tagB ?? '';
  return flattened(a < b ? `${callId}|${a}|${b}` : `${callId}|${b}|${a}`);
}
