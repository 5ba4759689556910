import { closeSync, fdatasync, fdatasyncSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
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

/** The defaults but for what a proxy's settings choose: the fsync mode and the segment size. */
export function writerOptions(fsync: FsyncMode, segmentBytes = DEFAULT_WRITER_OPTIONS.segmentBytes): WriterOptions {
  return { ...DEFAULT_WRITER_OPTIONS, fsync, segmentBytes };
}

/**
 * The append-only journal writer. `always`: every append is written and fsynced before it
 * returns, so whatever the proxy does next (answer a caller) happens after the fact is durable.
 * `batch`: appends are buffered and written together at most every `batchMs`, then fsynced off
 * the event loop (group commit; one sync at a time, at most one per `syncIntervalMs`), and synced
 * at close. `off`: written every `batchMs`, never synced.
 * Listeners see each event once it is durable by the chosen mode (written, for off).
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
  appended = 0;

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

  append(body: EventBody, at: number = Date.now()): JournalEvent {
    const event = { v: JOURNAL_VERSION, seq: ++this.seq, ts: new Date(at).toISOString(), ...body } as JournalEvent;
    const line = `${JSON.stringify(event)}\n`;
    this.appended++;
    if (this.opts.fsync === 'always') {
      this.writeOut(line);
      fdatasyncSync(this.fd);
      this.publish([event]);
      return event;
    }
    this.pending.push(line);
    this.pendingEvents.push(event);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), this.opts.batchMs);
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
    const text = this.pending.join('');
    const events = this.pendingEvents;
    this.pending = [];
    this.pendingEvents = [];
    this.writeOut(text);
    if (this.opts.fsync === 'off') this.publish(events);
    else {
      for (const e of events) this.unsynced.push(e);
      this.startSync();
    }
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
    fdatasync(this.fd, () => {
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
    const events = [...(this.syncing ?? []), ...this.unsynced, ...this.pendingEvents];
    if (this.pending.length) this.writeOut(this.pending.join(''));
    if (this.opts.fsync !== 'off') fdatasyncSync(this.fd);
    this.pending = [];
    this.pendingEvents = [];
    this.syncing = null;
    this.unsynced = [];
    if (events.length) this.publish(events);
    closeSync(this.fd);
  }

  private writeOut(text: string): void {
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    this.size += buf.length;
    if (this.size >= this.opts.segmentBytes) this.rotate();
  }

  private rotate(): void {
    if (this.opts.fsync !== 'off') fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.segment++;
    this.fd = openSync(path.join(this.dir, segmentName(this.segment)), 'a');
    this.size = 0;
  }

  private publish(events: readonly JournalEvent[]): void {
    for (const l of this.listeners) l(events);
  }
}
