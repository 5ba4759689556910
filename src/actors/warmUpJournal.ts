import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JournalWriter, writerOptions, type FsyncMode } from '../journal/writer.js';
import { CallHistory } from '../projections/callHistory.js';
import type { CallLogFormat } from '../projections/callLogFormat.js';
import { CallLogWriter } from '../projections/callLogWriter.js';
import type { CallLifecycleEvent } from '../machines/lifecycle.js';
import { journalBindingEvent, journalCallEvent } from './journalBridge.js';
import type { BindingEvent } from './locationService.js';

/** The scratch directories' names: this, the process id, a dash, and mkdtemp's six characters. */
const PREFIX = 'sipstate-warm-up-';

/** How the proxy's own journal and log.txt are written: the warm-up's copy writes the same way. */
export interface ScratchJournalOptions {
  fsync: FsyncMode;
  callLogFormat: CallLogFormat;
}

/**
 * The warm-up's throw-away journal and log.txt, in a temporary directory removed when it closes.
 * The warm-up's calls journal their lifecycle and its REGISTERs their bindings through the same
 * writer, and log.txt's projection reads them back, as real ones do: without them, the first
 * second of real load compiled the journal, the call history and date-fns's formatting while
 * INVITEs waited (BENCHMARKS.md, finding 41). Nothing of it reaches the proxy's own journal or
 * log.txt.
 */
export class ScratchJournal {
  private constructor(
    readonly dir: string,
    private readonly journal: JournalWriter,
    private readonly callLog: CallLogWriter,
    /** Removes the directory should the process exit before close() (a stop during the warm-up). */
    private readonly atExit: () => void,
  ) {}

  /**
   * A new one, or null when no temporary directory can be made (the warm-up then runs without).
   * First removes what processes that no longer run left behind (killed during their warm-up).
   */
  static open(o: ScratchJournalOptions, root = tmpdir()): ScratchJournal | null {
    let dir: string | null = null;
    try {
      removeStaleScratch(root);
      dir = mkdtempSync(path.join(root, `${PREFIX}${process.pid}-`));
      const journal = new JournalWriter(path.join(dir, 'journal'), 0, writerOptions(o.fsync));
      const callLog = new CallLogWriter(path.join(dir, 'log.txt'), new CallHistory(), o.callLogFormat);
      journal.onDurable(callLog.onEvents);
      const made = dir;
      const atExit = () => rmSync(made, { recursive: true, force: true });
      process.once('exit', atExit);
      return new ScratchJournal(dir, journal, callLog, atExit);
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
      process.off('exit', this.atExit);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Removes the scratch directories under `root` whose process is gone (its id in the name answers no signal). */
export function removeStaleScratch(root: string): void {
  for (const name of readdirSync(root)) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length, name.indexOf('-', PREFIX.length)));
    if (!Number.isInteger(pid) || pid <= 0 || processRuns(pid)) continue;
    rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
