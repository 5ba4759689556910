import type { SipMessage } from './message.js';
import { splitList } from './split.js';
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
  // One pass over the header lines for the five fields (first occurrence of each).
  let callId: string | undefined;
  let cseqText: string | undefined;
  let viaLine: string | undefined;
  let from: string | undefined;
  let to: string | undefined;
  for (const h of msg.headers) {
    switch (h.key) {
      case 'call-id': callId ??= h.value; break;
      case 'cseq': cseqText ??= h.value; break;
      case 'via': viaLine ??= h.value; break;
      case 'from': from ??= h.value; break;
      case 'to': to ??= h.value; break;
    }
  }
  if (!callId) return { ok: false, error: 'missing Call-ID' };
  const cseq = parseCSeq(cseqText);
  if (!cseq) return { ok: false, error: 'missing or malformed CSeq' };
  const viaText = viaLine === undefined ? undefined : viaLine.includes(',') ? splitList(viaLine)[0] : viaLine;
  if (!viaText) return { ok: false, error: 'missing Via' };
  const topVia = parseVia(viaText);
  if (!topVia) return { ok: false, error: 'malformed Via' };
  if (from === undefined) return { ok: false, error: 'missing From' };
  if (to === undefined) return { ok: false, error: 'missing To' };
  return {
    ok: true,
    info: { callId, cseq, topVia, branch: viaBranch(topVia), fromTag: tagOf(from), toTag: tagOf(to) },
  };
}
