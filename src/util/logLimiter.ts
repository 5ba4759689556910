/** One kind's count: lines let through in the current second, and those held back since `since`. */
interface KindCount {
  second: number;
  lines: number;
  suppressed: number;
  since: number;
}

export interface LogLimiterOptions {
  /** Lines of one kind let through per second. */
  perSecond?: number;
  /** How long held-back lines wait to be summarized in one line. */
  summaryMs?: number;
  /** Kinds counted apart; past it, new kinds share one count (kinds may come from peers' text). */
  maxKinds?: number;
  now?: () => number;
  /** Runs `fn` once after `ms`; must not keep the process alive. Tests call `fn` themselves. */
  later?: (fn: () => void, ms: number) => void;
}

/** The kind new kinds share once `maxKinds` are counted. */
export const OTHER_KIND = 'other';

/**
 * At most `perSecond` lines of each kind a second; the rest are counted and told in one summary
 * line per kind `summaryMs` after the first was held back (as rsyslog's and journald's rate limits
 * do), so a flood of bad input costs a bounded log that still says how much there was.
 */
export class LogLimiter {
  private readonly kinds = new Map<string, KindCount>();
  private armed = false;
  private readonly perSecond: number;
  private readonly summaryMs: number;
  private readonly maxKinds: number;
  private readonly now: () => number;
  private readonly later: (fn: () => void, ms: number) => void;

  /** `summarize` writes one summary line: `count` lines of `kind` held back over `ms`. */
  constructor(private readonly summarize: (kind: string, count: number, ms: number) => void, opts: LogLimiterOptions = {}) {
    this.perSecond = opts.perSecond ?? 10;
    this.summaryMs = opts.summaryMs ?? 10_000;
    this.maxKinds = opts.maxKinds ?? 64;
    this.now = opts.now ?? Date.now;
    this.later = opts.later ?? ((fn, ms) => setTimeout(fn, ms).unref());
  }

  /** Whether a line of `kind` may be written now; if not, it is counted for the summary. */
  admit(kind: string): boolean {
    const now = this.now();
    const k = this.count(kind, now);
    if (now - k.second >= 1000) {
      k.second = now;
      k.lines = 0;
    }
    if (k.lines < this.perSecond) {
      k.lines++;
      return true;
    }
    if (k.suppressed++ === 0) k.since = now;
    if (!this.armed) {
      this.armed = true;
      this.later(() => {
        this.armed = false;
        this.flush();
      }, this.summaryMs);
    }
    return false;
  }

  /** Summarizes every kind with lines held back (the timer's work; also at stop, so none is lost). */
  flush(): void {
    const now = this.now();
    for (const [kind, k] of this.kinds) {
      if (k.suppressed > 0) {
        this.summarize(kind, k.suppressed, now - k.since);
        k.suppressed = 0;
      } else if (now - k.second >= this.summaryMs) {
        // Quiet for a while: room for other kinds.
        this.kinds.delete(kind);
      }
    }
  }

  private count(kind: string, now: number): KindCount {
    let k = this.kinds.get(kind);
    if (k) return k;
    if (this.kinds.size >= this.maxKinds) {
      kind = OTHER_KIND;
      k = this.kinds.get(kind);
      if (k) return k;
    }
    k = { second: now - 1000, lines: 0, suppressed: 0, since: now };
    this.kinds.set(kind, k);
    return k;
  }
}
