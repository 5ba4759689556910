import type { SipRequest } from '../sip/message.js';
import type { MessageInfo } from '../sip/info.js';
import { formatVia, MAGIC_COOKIE, sentBy } from '../sip/via.js';

/**
 * The server transaction a request belongs to (RFC 3261 §17.2.3): branch + Via sent-by + method,
 * with ACK matching its INVITE. `method` overrides the method (CANCEL looks up its INVITE).
 * Without the magic cookie (an RFC 2543 peer) the key is built from Request-URI, From tag,
 * Call-ID, CSeq number and the whole top Via instead.
 */
export function serverTransactionKey(req: SipRequest, info: MessageInfo, method?: string): string {
  const m = method ?? (req.method === 'ACK' ? 'INVITE' : req.method);
  if (info.branch !== null && info.branch.startsWith(MAGIC_COOKIE)) return detached(`${info.branch}|${sentBy(info.topVia)}|${m}`);
  return detached(`2543|${req.uri}|${info.fromTag ?? ''}|${info.callId}|${info.cseq.seq}|${formatVia(info.topVia)}|${m}`);
}

/** The client transaction a response belongs to (§17.1.3): our branch + the CSeq method. */
export function clientTransactionKey(branch: string, method: string): string {
  return detached(`${branch}|${method}`);
}

/** A dialog seen from a proxy: Call-ID and both tags, in either direction (§12). */
export function dialogKey(callId: string, tagA: string | null, tagB: string | null): string {
  const a = tagA ?? '';
  const b = tagB ?? '';
  return detached(a < b ? `${callId}|${a}|${b}` : `${callId}|${b}|${a}`);
}

/**
 * The key as a string of its own. Its parts are cut from the message text (a branch, a Call-ID):
 * V8 keeps such a cut, and a concatenation of cuts, as a view onto the whole text, so a key that
 * lives as long as its transaction (32 s after it ends) would keep every byte of the request with
 * it. Reading a character makes V8 flatten the concatenation into one fresh string, which lets the
 * request go (measured in the hot-path benchmark: BENCHMARKS.md, profile findings).
 */
function detached(key: string): string {
  key.charCodeAt(0);
  return key;
}
