import { statSync } from 'node:fs';
import type { Recovery } from '../journal/recovery.js';

/** What a journal check found, one line each: the torn tail cut, each corrupt line by segment and line. */
export function describeRecovery(r: Pick<Recovery, 'tornBytes' | 'tornSegment' | 'report'>): string[] {
  const out: string[] = [];
  if (r.tornBytes > 0) out.push(`journal: cut a torn last line (${r.tornBytes} bytes) off ${r.tornSegment}; the journal continues after the last whole event`);
  if (r.report.tornTail) out.push(`journal: ${r.report.tornTail.segment} ends with an unterminated line ${r.report.tornTail.line} (a crash mid-write); ignored`);
  for (const c of r.report.corrupt) out.push(`journal: corrupt line ${c.line} in ${c.segment}: ${c.error} (not applied)`);
  return out;
}

/**
 * The journal folder a read-only command works on; a mistyped path is an error, not an empty
 * history (replay would otherwise overwrite the call log with nothing).
 */
export function existingJournalDir(dir: string): string {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    /* missing */
  }
  if (!isDir) throw new Error(`no journal folder at ${dir} (give it with --journal DIR)`);
  return dir;
}
