import type { Fact, FromWorker } from './ipc.js';

/**
 * Gathers a worker's journal facts and sends them to the primary a few milliseconds later as one
 * IPC message. One message per fact cost the worker a pipe write and woke the primary for each
 * (three per call); the journal's own group commit waits 10 ms anyway (--fsync batch).
 */
export class FactBatch {
  private items: Fact[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly send: (m: FromWorker, done?: () => void) => void, private readonly delayMs = 5) {}

  add(fact: Fact): void {
    this.items.push(fact);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Sends what is pending now (before the worker stops); `done` once it is written. */
  flush(done?: () => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.items.length === 0) {
      done?.();
      return;
    }
    const items = this.items;
    this.items = [];
    this.send({ t: 'batch', items }, done);
  }
}
