import { closeSync, fstatSync, ftruncateSync, openSync, readSync, readFileSync } from 'node:fs';
import { checkEvent, type JournalEvent } from './events.js';
import { listSegments } from './segments.js';

export interface CorruptLine {
  segment: string;
  line: number;
  error: string;
}

export interface ReadReport {
  events: number;
  lastSeq: number;
  corrupt: CorruptLine[];
  /** An unterminated last line left by a crash, when reading without repairing (replay). */
  tornTail: CorruptLine | null;
}

/**
 * Reads every event of a journal in order, calling `onEvent` for each. A line that does not parse
 * is reported with its segment and line number (never silently skipped); the caller decides.
 * The last segment's torn tail must have been repaired first (see repairTornTail).
 */
export function readJournal(dir: string, onEvent: (e: JournalEvent) => void): ReadReport {
  const report: ReadReport = { events: 0, lastSeq: 0, corrupt: [], tornTail: null };
  const segs = listSegments(dir);
  for (const seg of segs) {
    const lastSegment = seg === segs[segs.length - 1];
    const text = readFileSync(seg.file, 'utf8');
    let start = 0;
    let line = 0;
    while (start < text.length) {
      let end = text.indexOf('\n', start);
      const terminated = end >= 0;
      if (!terminated) end = text.length;
      line++;
      // The last segment's unterminated line is a write a crash cut short, even when what it
      // holds parses: it was never acknowledged, and the repair on start cuts it (repairTornTail).
      // Replay must read what a restart keeps.
      if (!terminated && lastSegment) {
        report.tornTail = { segment: seg.name, line, error: 'unterminated last line' };
        break;
      }
      if (end > start) {
        const raw = text.slice(start, end);
        let e: unknown;
        let error: string | null = null;
        try {
          e = JSON.parse(raw);
          error = checkEvent(e);
        } catch (err) {
          error = (err as Error).message;
        }
        if (error) report.corrupt.push({ segment: seg.name, line, error });
        else {
          const ev = e as JournalEvent;
          report.events++;
          report.lastSeq = ev.seq;
          onEvent(ev);
        }
      }
      start = end + 1;
    }
  }
  return report;
}

/**
 * A crash in the middle of a write leaves the last segment without its final newline: cut the
 * partial line off so appends continue on a clean line. Returns the bytes cut (0 when clean).
 */
export function repairTornTail(file: string): number {
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    // Walk back in blocks to the last newline.
    const block = Buffer.alloc(64 * 1024);
    let pos = size;
    while (pos > 0) {
      const len = Math.min(block.length, pos);
      pos -= len;
      readSync(fd, block, 0, len, pos);
      const i = block.subarray(0, len).lastIndexOf(0x0a);
      if (i >= 0) {
        const keep = pos + i + 1;
        if (keep < size) ftruncateSync(fd, keep);
        return size - keep;
      }
    }
    ftruncateSync(fd, 0);
    return size;
  } finally {
    closeSync(fd);
  }
}
