export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** One-line logs to stderr (info and above to stdout), with a level threshold. */
export class Logger {
  /** `prefix` names the process in a cluster (e.g. "worker 1: "). */
  constructor(private readonly level: LogLevel = 'info', private readonly prefix = '') {}

  enabled(level: LogLevel): boolean {
    return ORDER[level] <= ORDER[this.level];
  }

  error(msg: string): void {
    if (this.enabled('error')) process.stderr.write(`${this.prefix}error: ${msg}\n`);
  }
  warn(msg: string): void {
    if (this.enabled('warn')) process.stderr.write(`${this.prefix}warn: ${msg}\n`);
  }
  info(msg: string): void {
    if (this.enabled('info')) process.stdout.write(`${this.prefix}${msg}\n`);
  }
  debug(msg: string): void {
    if (this.enabled('debug')) process.stdout.write(`${this.prefix}debug: ${msg}\n`);
  }
}
