import { closeSync, fstatSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import type { JournalEvent } from '../journal/events.js';
import type { CallHistory, CallRecord } from './callHistory.js';
import { formatCallEntry, type CallLogFormat } from './callLogFormat.js';

/**
 * log.txt as a live projection of the journal: rebuilt whole from the journal at start (so it
 * always matches it, even after a crash between the two writes), then appended to with each
 * batch of events the journal has made durable — never from anything else.
 */
export class CallLogWriter {
  /**
   * Kept open between batches: opening and closing the file for each one (appendFileSync) took
   * 41 µs a batch at the median and up to 2.5 ms on the event loop, the write alone 16 µs and
   * at most 0.2 ms (BENCHMARKS.md, finding 33).
   */
  private fd: number | null = null;
  /** The inode the descriptor writes to, and when the path was last checked against it. */
  private ino = 0;
  private checkedAt = 0;

  /**
   * `recheckMs`: how often an append checks that the path still names the open file, so that a
   * log.txt moved away by logrotate (or deleted) is followed by a new one, as appendFileSync did.
   */
  constructor(
    private readonly file: string,
    private readonly history: CallHistory,
    private readonly fmt: CallLogFormat,
    private readonly recheckMs = 1000,
  ) {}

  /** Writes the entries of every finished call at once (atomically: temp file, then rename). */
  rebuild(finished: readonly CallRecord[]): void {
    // The rename puts a new file in place: an open descriptor would still write to the old one.
    this.close();
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, renderCallLog(finished, this.fmt));
    renameSync(tmp, this.file);
  }

  /** The journal's durable-events listener. */
  onEvents = (events: readonly JournalEvent[]): void => {
    let text = '';
    for (const e of events) {
      const done = this.history.apply(e);
      if (done) text += formatCallEntry(done, this.fmt);
    }
    if (text) this.append(text);
  };

  /** Lets the file go (shutdown); a later batch opens it again. */
  close(): void {
    const fd = this.fd;
    // Forgotten first: should closing fail, the next batch still opens the file afresh.
    this.fd = null;
    if (fd !== null) closeSync(fd);
  }

  private append(text: string): void {
    // Monotonic: a wall clock set back would postpone the check.
    const now = performance.now();
    if (this.fd !== null && now - this.checkedAt >= this.recheckMs) {
      this.checkedAt = now;
      if (statSync(this.file, { throwIfNoEntry: false })?.ino !== this.ino) this.close();
    }
    if (this.fd === null) {
      this.fd = openSync(this.file, 'a');
      this.ino = fstatSync(this.fd).ino;
      this.checkedAt = now;
    }
    const buf = Buffer.from(text, 'utf8');
    for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off, buf.length - off);
  }
}

/** The whole call log for a list of finished calls (replay's output, byte for byte the live one). */
export function renderCallLog(finished: readonly CallRecord[], fmt: CallLogFormat): string {
  return finished.map((c) => formatCallEntry(c, fmt)).join('');
}
