import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JournalWriter, type FsyncMode } from '../journal/writer.js';
import { CallHistory } from '../projections/callHistory.js';
import type { CallLogFormat } from '../projections/callLogFormat.js';
import { CallLogWriter } from '../projections/callLogWriter.js';
import type { CallLifecycleEvent } from '../machines/lifecycle.js';
import { journalBindingEvent, journalCallEvent } from './journalBridge.js';
import type { BindingEvent } from './locationService.js';

/** How the proxy's own journal and log.txt are written: the warm-up's copy writes the same way. */
export interface ScratchJournalOptions {
  fsync: FsyncMode;
  callLogFormat: CallLogFormat;
}

/**
 * The warm-up's throw-away journal and log.txt, in a temporary directory removed when it closes.
 * The warm-up's calls journal their lifecycle and its REGISTERs their bindings through the same
 * writer, and log.txt's projection reads them back, as real ones do: without them, the first second of real load compiled the
 * journal, the call history and date-fns's formatting while INVITEs waited (BENCHMARKS.md,
 * finding 41). Nothing of it reaches the proxy's own journal or log.txt.
 */
export class ScratchJournal {
  private constructor(
    readonly dir: string,
    private readonly journal: JournalWriter,
    private readonly callLog: CallLogWriter,
  ) {}

  /** A new one, or null when no temporary directory can be made (the warm-up then runs without). */
  static open(o: ScratchJournalOptions): ScratchJournal | null {
    let dir: string | null = null;
    try {
      dir = mkdtempSync(path.join(tmpdir(), 'sipstate-warm-up-'));
      const journal = new JournalWriter(path.join(dir, 'journal'), 0, { fsync: o.fsync, segmentBytes: 64 * 1024 * 1024, batchMs: 10 });
      const callLog = new CallLogWriter(path.join(dir, 'log.txt'), new CallHistory(), o.callLogFormat);
      journal.onDurable(callLog.onEvents);
      return new ScratchJournal(dir, journal, callLog);
    } catch {
      if (dir !== null) rmSync(dir, { recursive: true, force: true });
      return null;
    }
  }

  /** The warm-up supervisor's lifecycle hook: what the real one's does, into the scratch journal. */
  readonly onLifecycle = (e: CallLifecycleEvent): void => journalCallEvent(this.journal, e);

  /** The warm-up location service's binding hook, likewise. */
  readonly onBinding = (e: BindingEvent): void => journalBindingEvent(this.journal, e);

  /** Writes out what is buffered, then removes the directory. */
  close(): void {
    try {
      this.journal.close();
      this.callLog.close();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
