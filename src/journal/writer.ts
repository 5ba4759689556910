import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { JOURNAL_VERSION, type EventBody, type JournalEvent } from './events.js';
import { listSegments, segmentName } from './segments.js';

export type FsyncMode = 'always' | 'batch' | 'off';

export interface WriterOptions {
  fsync: FsyncMode;
  /** Start a new segment once the current one is this large. */
  segmentBytes: number;
  /** Group-commit window for `batch` (and write-behind for `off`), ms. */
  batchMs: number;
  /** `batch`: at least this long between the starts of two fdatasyncs, ms (default SYNC_INTERVAL_MS). */
  syncIntervalMs?: number;
}

/**
 * Under load `batch` would sync every `batchMs`. Each fdatasync costs the filesystem a journal
 * commit, some 0.3 ms of the core the proxy runs on (BENCHMARKS.md finding 35): paced to this
 * interval, a busy proxy syncs 20 times a second, not 100. Writes still go out every `batchMs`
 * (a kill -9 loses nothing written); only the acknowledgement waits for the next sync.
 */
export const SYNC_INTERVAL_MS = 50;

export const DEFAULT_WRITER_OPTIONS: WriterOptions = { fsync: 'batch', segmentBytes: 64 * 1024 * 1024, batchMs: 10, syncIntervalMs: SYNC_INTERVAL_MS };

/**
 * While the disk refuses writes (full, over quota, a file size limit), events wait in memory, in
 * order, and the write is tried again every RETRY_MS: once the disk takes them again nothing is
 * lost. Beyond MAX_HELD_EVENTS new events are dropped and counted (`dropped`), so an outage that
 * lasts cannot take the proxy's memory; they are given no sequence number, so none is skipped.
 */
export const MAX_HELD_EVENTS = 100_000;
export const RETRY_MS = 1000;

/** The defaults but for what a proxy's settings choose: the fsync mode and the segment size. */
export function writerOptions(fsync: FsyncMode, segmentBytes = DEFAULT_WRITER_OPTIONS.segmentBytes): WriterOptions {
  return { ...DEFAULT_WRITER_OPTIONS, fsync, segmentBytes };
}

/**
 * The append-only journal writer. `always`: every append is written and fsynced before it
 * returns, so whatever the proxy does next (answer a caller) happens after the fact is durable
 * (unless the disk refuses the write: then it is held, see MAX_HELD_EVENTS).
 * `batch`: appends are buffered and written together at most every `batchMs`, then fsynced off
 * the event loop (group commit; one sync at a time, at most one per `syncIntervalMs`), and synced
 * at close. `off`: written every `batchMs`, never synced.
 * Listeners see each event once it is durable by the chosen mode (written, for off). A write the
 * disk refuses leaves the segment as it was (cut back to its last whole line) and is tried again.
 */
export class JournalWriter {
  private fd: number;
  private segment: number;
  private size: number;
  private seq: number;
  private pending: string[] = [];
  private pendingEvents: JournalEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** batch mode: written but not yet synced, and the batch the running fdatasync covers. */
  private unsynced: JournalEvent[] = [];
  private syncing: JournalEvent[] | null = null;
  /** When the last fdatasync started (performance.now()), and the timer that waits for the next. */
  private lastSyncAt = -Infinity;
  private syncTimer: NodeJS.Timeout | null = null;
  /** fdatasyncs started in `batch` mode (the pacing's unit test reads it). */
  syncs = 0;
  private readonly listeners: Array<(events: readonly JournalEvent[]) => void> = [];
  private readonly troubleListeners: Array<(message: string) => void> = [];
  appended = 0;
  /** The disk refused the last write: events are held (in `pending`) and retried. */
  private failing = false;
  /** Events dropped because MAX_HELD_EVENTS were already held. */
  dropped = 0;
  /** A refused write left part of a line that could not be cut off. */
  private partialLine = false;

  constructor(private readonly dir: string, lastSeq: number, private readonly opts: WriterOptions = DEFAULT_WRITER_OPTIONS) {
    mkdirSync(dir, { recursive: true });
    const segs = listSegments(dir);
    this.segment = segs.length ? segs[segs.length - 1]!.n : 1;
    this.fd = openSync(path.join(dir, segmentName(this.segment)), 'a');
    this.size = fstatSync(this.fd).size;
    this.seq = lastSeq;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Called with every batch of events once written (in order). */
  onDurable(listener: (events: readonly JournalEvent[]) => void): void {
    this.listeners.push(listener);
  }

  /** Called with a line to log when the disk refuses writes, and when it takes them again. */
  onTrouble(listener: (message: string) => void): void {
    this.troubleListeners.push(listener);
  }

  /** The event as journaled; null when dropped (MAX_HELD_EVENTS already held). */
  append(body: EventBody, at: number = Date.now()): JournalEvent | null {
    if (this.failing && this.pendingEvents.length >= MAX_HELD_EVENTS) {
      if (this.dropped++ === 0) this.tell(`journal: ${MAX_HELD_EVENTS} events held in memory, the most it holds; further events are dropped until the disk takes writes again`);
      return null;
    }
    const event = { v: JOURNAL_VERSION, seq: ++this.seq, ts: new Date(at).toISOString(), ...body } as JournalEvent;
    const line = `${JSON.stringify(event)}\n`;
    this.appended++;
    if (this.opts.fsync === 'always' && !this.failing && this.tryWrite(line)) {
      this.written([event]);
      return event;
    }
    this.pending.push(line);
    this.pendingEvents.push(event);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), this.failing ? RETRY_MS : this.opts.batchMs);
    return event;
  }

  /**
   * Writes everything buffered. With `batch` the fdatasync runs off the event loop (libuv's pool):
   * one at a time, covering every batch written before it; listeners hear of a batch once synced.
   */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    if (!this.tryWrite(this.pending.join(''))) {
      // Held, in order; appends meanwhile queue behind them.
      this.timer = setTimeout(() => this.flush(), RETRY_MS);
      return;
    }
    const events = this.pendingEvents;
    this.pending = [];
    this.pendingEvents = [];
    this.written(events);
  }

  /** What follows a write the disk took: the sync the mode asks for, then the listeners. */
  private written(events: JournalEvent[]): void {
    if (this.opts.fsync === 'off') this.publish(events);
    else if (this.opts.fsync === 'always') {
      this.syncNow();
      this.publish(events);
    } else {
      for (const e of events) this.unsynced.push(e);
      this.startSync();
    }
  }

  /**
   * An fdatasync that fails (EIO) is told, not thrown: the lines are written, and whether the
   * kernel will still persist them cannot be known here; writing them again would duplicate them.
   */
  private syncNow(): void {
    try {
      fdatasyncSync(this.fd);
    } catch (err) {
      this.syncFailed(err);
    }
  }

  /** Writes `text`; false (told once an outage) when the disk refuses it, the segment unchanged. */
  private tryWrite(text: string): boolean {
    try {
      try {
        this.writeOut(text);
      } catch (err) {
        // EFBIG: this file may not grow (a file size limit), a new one may.
        if ((err as NodeJS.ErrnoException).code !== 'EFBIG' || this.size === 0) throw err;
        this.rotate();
        this.writeOut(text);
      }
    } catch (err) {
      if (!this.failing) this.tell(`journal: cannot write to ${this.dir} (${describe(err)}); events are held in memory and written once it can (tried every ${RETRY_MS / 1000} s)`);
      this.failing = true;
      return false;
    }
    if (this.failing) {
      this.failing = false;
      this.tell(`journal: writing again${this.dropped ? `; ${this.dropped} events were dropped meanwhile` : ''}`);
      this.dropped = 0;
    }
    return true;
  }

  private startSync(): void {
    if (this.syncing || this.syncTimer || this.unsynced.length === 0) return;
    const now = performance.now();
    const wait = this.lastSyncAt + (this.opts.syncIntervalMs ?? SYNC_INTERVAL_MS) - now;
    if (wait > 0) {
      this.syncTimer = setTimeout(() => {
        this.syncTimer = null;
        this.startSync();
      }, wait);
      return;
    }
    this.lastSyncAt = now;
    this.syncs++;
    const batch = this.unsynced;
    this.unsynced = [];
    this.syncing = batch;
    const fd = this.fd;
    fdatasync(fd, (err) => {
      // A segment rotated meanwhile was synced and closed by rotate(): an error on its old fd says nothing.
      if (err && fd === this.fd) this.syncFailed(err);
      // close() may have synced and published this batch already.
      if (this.syncing !== batch) return;
      this.syncing = null;
      this.publish(batch);
      this.startSync();
    });
  }

  /** Writes and syncs everything still buffered, at once (shutdown). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.timer = null;
    this.syncTimer = null;
    const events = [...(this.syncing ?? []), ...this.unsynced];
    if (this.pending.length) {
      if (this.tryWrite(this.pending.join(''))) events.push(...this.pendingEvents);
      else this.tell(`journal: ${this.pendingEvents.length} events could not be written before closing and are lost`);
    }
    if (this.opts.fsync !== 'off') this.syncNow();
    this.pending = [];
    this.pendingEvents = [];
    this.syncing = null;
    this.unsynced = [];
    if (events.length) this.publish(events);
    closeSync(this.fd);
  }

  /**
   * Appends whole lines. A write the disk refuses part way is cut back off (the file is opened for
   * appending, so the next write starts at the cut), so the segment never holds a partial line
   * that a later line would run into; then it throws.
   */
  private writeOut(text: string): void {
    // A partial line that could not be cut off is ended first: it reads as one corrupt line.
    const buf = Buffer.from(this.partialLine ? `\n${text}` : text, 'utf8');
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    } catch (err) {
      if (off > 0) {
        try {
          ftruncateSync(this.fd, this.size);
        } catch {
          this.size += off;
          this.partialLine = true;
        }
      }
      throw err;
    }
    this.partialLine = false;
    this.size += buf.length;
    if (this.size >= this.opts.segmentBytes) {
      try {
        this.rotate();
      } catch (err) {
        // The lines are written; the next write tries the new segment again.
        this.tell(`journal: cannot start segment ${segmentName(this.segment + 1)} (${describe(err)}); still writing to ${segmentName(this.segment)}`);
      }
    }
  }

  private rotate(): void {
    if (this.opts.fsync !== 'off') fdatasyncSync(this.fd);
    // The next segment is opened before this one is let go: if it cannot be, this one goes on.
    const next = openSync(path.join(this.dir, segmentName(this.segment + 1)), 'a');
    closeSync(this.fd);
    this.fd = next;
    this.segment++;
    this.size = 0;
    this.partialLine = false;
  }

  private syncFailed(err: unknown): void {
    this.tell(`journal: fdatasync failed (${describe(err)}); the events written may not survive a power loss`);
  }

  private tell(message: string): void {
    for (const l of this.troubleListeners) l(message);
  }

  private publish(events: readonly JournalEvent[]): void {
    for (const l of this.listeners) l(events);
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? String(err);
}
