import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { recover } from '../journal/recovery.js';
import { renderCallLog } from '../projections/callLogWriter.js';
import { callLogFormat } from './args.js';
import { describeRecovery, existingJournalDir } from './journalReport.js';

export const REPLAY_USAGE = `Usage: sipstate replay [--journal DIR] [--call-log FILE] [--call-log-format original|extended]

Rebuilds the call log from the journal alone (defaults: ./journal, ./log.txt), byte for byte what
the live proxy wrote. The journal is only read. Exit 2 when it has corrupt lines.
`;

/**
 * `sipstate replay --journal DIR --call-log FILE`: rebuilds the call log from the journal alone,
 * read-only (a torn tail is reported, not cut). Exit 2 when corrupt lines were found.
 */
export function runReplay(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      journal: { type: 'string' },
      'call-log': { type: 'string' },
      'call-log-format': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(REPLAY_USAGE);
    return 0;
  }
  const dir = existingJournalDir(values.journal ?? 'journal');
  const file = values['call-log'] ?? 'log.txt';
  const started = process.hrtime.bigint();
  const r = recover(dir, Date.now(), { repair: false });
  writeFileSync(file, renderCallLog(r.finished, callLogFormat(values['call-log-format'])));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  for (const line of describeRecovery(r)) process.stderr.write(`${line}\n`);
  process.stdout.write(`replayed ${r.report.events} events from ${dir} in ${ms.toFixed(0)} ms: ${r.finished.length} calls written to ${file}\n`);
  return r.report.corrupt.length > 0 ? 2 : 0;
}
