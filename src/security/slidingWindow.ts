/**
 * A per-key request rate over a sliding one-second window, approximated with two fixed windows
 * (this second's count plus the previous second's, weighted by how much of it still overlaps).
 * O(1) per hit and 3 numbers per key.
 */
export class SlidingWindowCounter {
  private readonly windows = new Map<string, { start: number; current: number; previous: number }>();

  constructor(private readonly windowMs = 1000, private readonly maxKeys = 100_000) {}

  /** Counts one hit for `key` at `now` and returns the rate over the last window. */
  hit(key: string, now: number): number {
    let w = this.windows.get(key);
    if (w) {
      // Most recently hit last (Map order), so that eviction takes the idlest keys first.
      this.windows.delete(key);
      this.windows.set(key, w);
    } else {
      // Bounded memory under a flood of forged sources: drop the idlest hundredth when full,
      // not everyone (a real guesser, hitting all along, keeps its count).
      if (this.windows.size >= this.maxKeys) {
        let drop = Math.max(1, Math.floor(this.maxKeys / 100));
        for (const k of this.windows.keys()) {
          this.windows.delete(k);
          if (--drop === 0) break;
        }
      }
      w = { start: now, current: 0, previous: 0 };
      this.windows.set(key, w);
    }
    const elapsed = now - w.start;
    if (elapsed >= 2 * this.windowMs) {
      w.start = now;
      w.previous = 0;
      w.current = 0;
    } else if (elapsed >= this.windowMs) {
      w.start += this.windowMs;
      w.previous = w.current;
      w.current = 0;
    }
    w.current++;
    const overlap = 1 - (now - w.start) / this.windowMs;
    return w.current + w.previous * Math.max(0, overlap);
  }

  /** Drops keys idle for two windows (called now and then, not per message). */
  sweep(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= 2 * this.windowMs) this.windows.delete(k);
  }

  get size(): number {
    return this.windows.size;
  }
}
