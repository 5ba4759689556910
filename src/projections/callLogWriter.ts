import { closeSync, fstatSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import type { JournalEvent } from '../journal/events.js';
import type { CallHistory, CallRecord } from './callHistory.js';
import { formatCallEntry, type CallLogFormat } from './callLogFormat.js';

/**
 * Durable events projected in one turn of the event loop. The journal hands them over once per
 * fdatasync (at most every 50 ms): at 1,000 calls/s a batch of about 125 events took 0.3 ms at
 * the median and up to 2 ms at once, while the INVITEs that arrived meanwhile waited
 * (BENCHMARKS.md, finding 41). Sixteen take some 40 µs; the rest follow in later turns, in order.
 */
const EVENTS_PER_TURN = 16;

/**
 * log.txt as a live projection of the journal: rebuilt whole from the journal at start (so it
 * always matches it, even after a crash between the two writes), then appended to with each
 * batch of events the journal has made durable — never from anything else. A large batch is
 * projected a few events per turn of the event loop (EVENTS_PER_TURN); `close()` projects what
 * is left at once.
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
    this.closeFile();
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, renderCallLog(finished, this.fmt));
    renameSync(tmp, this.file);
  }

  /** Durable events not projected yet, in journal order, from `next` on. */
  private queued: JournalEvent[] = [];
  private next = 0;
  /** The turn that projects the next events, while some wait. */
  private later: NodeJS.Immediate | null = null;

  /** The journal's durable-events listener: the first events at once, the rest in later turns. */
  onEvents = (events: readonly JournalEvent[]): void => {
    for (const e of events) this.queued.push(e);
    if (this.later === null) this.projectSome();
  };

  /** Projects every queued event now (shutdown). */
  private drain(): void {
    if (this.later !== null) clearImmediate(this.later);
    this.later = null;
    this.project(this.queued.length);
  }

  private readonly projectSome = (): void => {
    this.later = null;
    this.project(this.next + EVENTS_PER_TURN);
    if (this.next < this.queued.length) this.later = setImmediate(this.projectSome);
  };

  /** Applies the queued events before index `end` to the history and appends the calls they finish. */
  private project(end: number): void {
    const stop = Math.min(end, this.queued.length);
    let text = '';
    while (this.next < stop) {
      const done = this.history.apply(this.queued[this.next++]!);
      if (done) text += formatCallEntry(done, this.fmt);
    }
    // Consumed before the write: a failing write must not have these events projected twice.
    if (this.next === this.queued.length) {
      this.queued = [];
      this.next = 0;
    } else if (this.next > 1024 && this.next * 2 > this.queued.length) {
      // A backlog that never empties (batches keep coming) must not keep what it projected.
      this.queued = this.queued.slice(this.next);
      this.next = 0;
    }
    if (text) this.append(text);
  }

  /** Projects what is still queued, then lets the file go (shutdown); a later batch opens it again. */
  close(): void {
    this.drain();
    this.closeFile();
  }

  private closeFile(): void {
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
      if (statSync(this.file, { throwIfNoEntry: false })?.ino !== this.ino) this.closeFile();
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
