import { format } from 'date-fns/format';
import { rfcReasonPhrase } from '../sip/reasonPhrases.js';
import type { CallRecord } from './callHistory.js';

export type CallLogFormat = 'original' | 'extended';

/**
 * Local HH:mm:ss of an ISO time. It depends on the second alone, and calls ending together share
 * it: the last one is remembered (date-fns parses its pattern on every call).
 */
let lastSecond = NaN;
let lastTime = '';
function time(iso: string): string {
  const ms = Date.parse(iso);
  // The instant's second, whatever offset the text is written with (NaN never matches: an
  // unreadable time still throws in format, as it always did).
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastTime = format(new Date(ms), 'HH:mm:ss');
    lastSecond = second;
  }
  return lastTime;
}

/** Seconds between two ISO times as H:mm:ss. */
export function duration(fromIso: string, toIso: string): string {
  const s = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * One log.txt entry, in the original report's format (section 3.3 and section 4): a "-----" line,
 * from/to URIs, "ringing:" when it rang, then "start:"/"end:", "declined:", "request terminated:"
 * or "busy -> ended:" in local time. A call that failed otherwise (unknown user, no answer,
 * unreachable) ends with "failed: TIME (CODE Phrase)" — the original had no such line.
 * The extended format adds the date, the Call-ID and the duration.
 */
export function formatCallEntry(c: CallRecord, fmt: CallLogFormat = 'original'): string {
  const lines = ['-----'];
  if (fmt === 'extended') {
    lines.push(`date: ${format(new Date(c.firstAt), 'yyyy-MM-dd')}`);
    lines.push(`call-id: ${c.callId}`);
  }
  lines.push(`from: ${c.from}`, `to: ${c.to}`);
  if (c.ringingAt) lines.push(`ringing: ${time(c.ringingAt)}`);
  switch (c.outcome) {
    case 'answered':
      lines.push(`start: ${time(c.answeredAt!)}`, `end: ${time(c.endedAt!)}`);
      break;
    case 'declined':
      lines.push(`declined: ${time(c.finalAt!)}`);
      break;
    case 'cancelled':
      lines.push(`request terminated: ${time(c.finalAt!)}`);
      break;
    case 'busy':
      lines.push(`busy -> ended: ${time(c.finalAt!)}`);
      break;
    case 'failed': {
      const why = c.status !== undefined ? `${c.status} ${rfcReasonPhrase(c.status)}` : (c.reason ?? 'no response');
      lines.push(`failed: ${time(c.finalAt!)} (${why})`);
      break;
    }
  }
  if (fmt === 'extended') {
    lines.push(`duration: ${c.outcome === 'answered' ? duration(c.answeredAt!, c.endedAt!) : '0:00:00'}`);
  }
  return `${lines.join('\n')}\n`;
}
