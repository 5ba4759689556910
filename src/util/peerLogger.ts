import { Logger, type LogLevel, type LogSink } from './logger.js';
import { LogLimiter, type LogLimiterOptions } from './logLimiter.js';
import { printable } from './printable.js';

/** A line's text at most (fixed words included): a header value or a host name is cut, not the line lost. */
export const LINE_MAX = 300;

/**
 * The logger for lines that what peers send causes (bad datagrams, failed authentications, bans,
 * host names that do not resolve): a flood of bad input must neither fill the disk nor cost much
 * CPU, and a peer's text must not forge lines. Each line's text is made printable and cut to
 * LINE_MAX (src/util/printable.ts); errors, warnings and infos are limited per kind (LogLimiter),
 * debug lines, asked for, are not. The proxy's own trouble (journal, bind, start-up) goes to a
 * plain Logger and is never held back.
 *
 * The kind of a line is its leading lower-case words, e.g. "bad message from" or "rejected": the
 * fixed start of its call site's template, before any address, method or peer's text.
 */
export class PeerLogger extends Logger {
  private readonly limits: Record<'error' | 'warn' | 'info', LogLimiter>;

  constructor(level: LogLevel = 'info', prefix = '', opts: LogLimiterOptions & { sink?: LogSink } = {}) {
    const { sink, ...limits } = opts;
    super(level, prefix, sink);
    const perSecond = limits.perSecond ?? 10;
    const limiter = (write: (line: string) => void) =>
      new LogLimiter((kind, count, ms) => write(summary(kind, count, ms, perSecond)), { ...limits, perSecond });
    this.limits = {
      error: limiter((line) => super.error(line)),
      warn: limiter((line) => super.warn(line)),
      info: limiter((line) => super.info(line)),
    };
  }

  override error(msg: string): void {
    if (this.enabled('error') && this.limits.error.admit(kindOf(msg))) super.error(printable(msg, LINE_MAX));
  }
  override warn(msg: string): void {
    if (this.enabled('warn') && this.limits.warn.admit(kindOf(msg))) super.warn(printable(msg, LINE_MAX));
  }
  override info(msg: string): void {
    if (this.enabled('info') && this.limits.info.admit(kindOf(msg))) super.info(printable(msg, LINE_MAX));
  }
  override debug(msg: string): void {
    if (this.enabled('debug')) super.debug(printable(msg, LINE_MAX));
  }

  /** Writes the summaries still waiting (at stop: a count held back is never lost). */
  close(): void {
    for (const l of Object.values(this.limits)) l.flush();
  }
}

const KIND_MAX = 40;

/** The leading run of lower-case letters, spaces and hyphens, trimmed; "other" when there is none. */
export function kindOf(msg: string): string {
  let end = 0;
  const stop = Math.min(msg.length, KIND_MAX);
  for (; end < stop; end++) {
    const c = msg.charCodeAt(end);
    if (!((c >= 0x61 && c <= 0x7a) || c === 0x20 || c === 0x2d)) break;
  }
  return msg.slice(0, end).trimEnd() || 'other';
}

/** "bad message from … 1,234 more like this in the last 10 s suppressed (at most 10 a second)". */
function summary(kind: string, count: number, ms: number, perSecond: number): string {
  const grouped = String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${kind} … ${grouped} more like this in the last ${Math.max(1, Math.ceil(ms / 1000))} s suppressed (at most ${perSecond} a second)`;
}
