/**
 * Which call rate to try next. Fixed steps alone left both ends of the answer loose: a server
 * that passed the last step had a highest rate of "at least" that step (a ratio against it is only
 * a bound), and steps a quarter apart hid up to a quarter of either server's rate. So:
 * 1. the given steps, in order, while the server passes;
 * 2. past the last one, EXTEND_BY more a step, at most MAX_EXTENSIONS times, while it passes;
 * 3. if the very first step fails, lower ones (three quarters each time), at most MAX_DESCENTS;
 * 4. then one step halfway between the highest pass and the lowest failure, when they are at least
 *    2 × GRAIN apart (rates are multiples of GRAIN).
 * At most MAX_STEPS steps in all, so that the whole bench stays within its ten minutes on a
 * machine where both servers pass every step (the figure is then a bound, as it says).
 * The same search runs for every server, so each one's figure has the same resolution.
 */
export const EXTEND_BY = 1000;
export const MAX_EXTENSIONS = 3;
export const MAX_DESCENTS = 2;
export const GRAIN = 250;
export const MAX_STEPS = 7;

export class RateSearch {
  private readonly ladder: number[];
  private readonly passed: number[] = [];
  private readonly failed: number[] = [];
  private extensions = 0;
  private descents = 0;
  private bisected = false;
  private steps = 0;

  constructor(rates: readonly number[]) {
    this.ladder = [...new Set(rates)].filter((r) => r > 0).sort((a, b) => a - b);
  }

  /** What the step at `rate` gave. */
  record(rate: number, ok: boolean): void {
    (ok ? this.passed : this.failed).push(rate);
  }

  /** The next rate to try, or null when the search is over. */
  next(): number | null {
    if (this.steps >= MAX_STEPS) return null;
    const rate = this.choose();
    if (rate !== null) this.steps++;
    return rate;
  }

  private choose(): number | null {
    const best = this.passed.length ? Math.max(...this.passed) : null;
    const worst = this.failed.length ? Math.min(...this.failed) : null;
    if (worst === null) {
      const above = this.ladder.find((r) => best === null || r > best);
      if (above !== undefined) return above;
      if (best === null || this.extensions >= MAX_EXTENSIONS) return null;
      this.extensions++;
      return best + EXTEND_BY;
    }
    if (best === null || best > worst) {
      // Nothing passed below the lowest failure: go down, if there is room.
      const lower = Math.floor((worst * 3) / 4 / GRAIN) * GRAIN;
      if (this.descents >= MAX_DESCENTS || lower < GRAIN) return null;
      this.descents++;
      return lower;
    }
    if (this.bisected || worst - best < 2 * GRAIN) return null;
    this.bisected = true;
    const middle = Math.round((best + worst) / 2 / GRAIN) * GRAIN;
    return middle > best && middle < worst ? middle : null;
  }
}
