import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import type { JournalEvent } from '../journal/events.js';
import type { CallHistory, CallRecord } from './callHistory.js';
import { formatCallEntry, type CallLogFormat } from './callLogFormat.js';

/**
 * log.txt as a live projection of the journal: rebuilt whole from the journal at start (so it
 * always matches it, even after a crash between the two writes), then appended to with each
 * batch of events the journal has made durable — never from anything else.
 */
export class CallLogWriter {
  constructor(private readonly file: string, private readonly history: CallHistory, private readonly fmt: CallLogFormat) {}

  /** Writes the entries of every finished call at once (atomically: temp file, then rename). */
  rebuild(finished: readonly CallRecord[]): void {
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
    if (text) appendFileSync(this.file, text);
  };
}

/** The whole call log for a list of finished calls (replay's output, byte for byte the live one). */
export function renderCallLog(finished: readonly CallRecord[], fmt: CallLogFormat): string {
  return finished.map((c) => formatCallEntry(c, fmt)).join('');
}
