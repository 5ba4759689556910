import { parseArgs } from 'node:util';
import { format } from 'date-fns/format';
import { parseISO } from 'date-fns/parseISO';
import { recover } from '../journal/recovery.js';
import { duration } from '../projections/callLogFormat.js';
import type { CallRecord } from '../projections/callHistory.js';
import { describeRecovery, existingJournalDir } from './journalReport.js';

export const CALLS_USAGE = `Usage: sipstate calls [--journal DIR] [--from USER] [--to USER] [--since DATE]
                      [--outcome answered|declined|cancelled|busy|failed] [--json]

The call history from the journal (default ./journal): date, caller, callee, outcome, duration.
USER matches the user part of a URI or the whole URI; DATE is like 2026-11-24 or 2026-11-24T13:00.
`;

const OUTCOMES = ['answered', 'declined', 'cancelled', 'busy', 'failed'];

/** A user filter matches the URI's user part, or the whole URI. */
function matchesUser(uri: string, user: string): boolean {
  if (uri === user) return true;
  const m = /^sips?:([^@]*)@/.exec(uri);
  return m !== null && m[1] === user;
}

function callDuration(c: CallRecord): number {
  return c.outcome === 'answered' ? Math.max(0, Math.round((Date.parse(c.endedAt!) - Date.parse(c.answeredAt!)) / 1000)) : 0;
}

/** `sipstate calls`: the call history from the journal, filtered, as a table or JSON. */
export function runCalls(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      journal: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      since: { type: 'string' },
      outcome: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(CALLS_USAGE);
    return 0;
  }
  if (values.outcome && !OUTCOMES.includes(values.outcome)) throw new Error(`--outcome must be one of ${OUTCOMES.join(', ')}`);
  let since: number | null = null;
  if (values.since) {
    since = parseISO(values.since).getTime();
    if (Number.isNaN(since)) throw new Error(`--since needs a date like 2026-11-24 or 2026-11-24T13:00`);
  }
  const r = recover(existingJournalDir(values.journal ?? 'journal'), Date.now(), { repair: false });
  for (const line of describeRecovery(r)) process.stderr.write(`${line}\n`);
  const calls = r.finished.filter(
    (c) =>
      (!values.from || matchesUser(c.from, values.from)) &&
      (!values.to || matchesUser(c.to, values.to)) &&
      (since === null || Date.parse(c.firstAt) >= since) &&
      (!values.outcome || c.outcome === values.outcome),
  );
  if (values.json) {
    process.stdout.write(`${JSON.stringify(calls.map((c) => ({ ...c, durationSeconds: callDuration(c) })), null, 2)}\n`);
    return 0;
  }
  for (const c of calls) {
    const d = c.outcome === 'answered' ? duration(c.answeredAt!, c.endedAt!) : '-';
    const status = c.status !== undefined ? ` (${c.status})` : '';
    process.stdout.write(`${format(new Date(c.firstAt), 'yyyy-MM-dd HH:mm:ss')}  ${c.from} -> ${c.to}  ${c.outcome}${status}  ${d}\n`);
  }
  process.stdout.write(`${calls.length} call${calls.length === 1 ? '' : 's'}\n`);
  return 0;
}
