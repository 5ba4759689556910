import { firstValue, getHeader, type SipMessage } from './message.js';
import { tagOf } from './nameAddr.js';
import { parseCSeq, type CSeq } from './cseq.js';
import { parseVia, viaBranch, type Via } from './via.js';

/**
 * The fields every transaction and dialog decision needs (§8.1.1, §17.1.3, §17.2.3), read once
 * per message. A message without them cannot belong to any transaction.
 */
export interface MessageInfo {
  readonly callId: string;
  readonly cseq: CSeq;
  readonly topVia: Via;
  readonly branch: string | null;
  readonly fromTag: string | null;
  readonly toTag: string | null;
}

export type InfoResult = { ok: true; info: MessageInfo } | { ok: false; error: string };

export function messageInfo(msg: SipMessage): InfoResult {
  const callId = getHeader(msg, 'call-id');
  if (!callId) return { ok: false, error: 'missing Call-ID' };
  const cseq = parseCSeq(getHeader(msg, 'cseq'));
  if (!cseq) return { ok: false, error: 'missing or malformed CSeq' };
  const viaText = firstValue(msg, 'via');
  if (!viaText) return { ok: false, error: 'missing Via' };
  const topVia = parseVia(viaText);
  if (!topVia) return { ok: false, error: 'malformed Via' };
  const from = getHeader(msg, 'from');
  const to = getHeader(msg, 'to');
  if (from === undefined) return { ok: false, error: 'missing From' };
  if (to === undefined) return { ok: false, error: 'missing To' };
  return {
    ok: true,
    info: { callId, cseq, topVia, branch: viaBranch(topVia), fromTag: tagOf(from), toTag: tagOf(to) },
  };
}
