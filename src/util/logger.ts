export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Where a finished line goes (newline included); tests pass their own. */
export type LogSink = (line: string, level: LogLevel) => void;

const toProcess: LogSink = (line, level) => {
  (ORDER[level] <= ORDER.warn ? process.stderr : process.stdout).write(line);
};

/**
 * One-line logs to stderr (info and above to stdout), with a level threshold. Lines about what
 * peers send go through a PeerLogger instead (src/util/peerLogger.ts): limited and made printable.
 */
export class Logger {
  /** `prefix` names the process in a cluster (e.g. "worker 1: "). */
  constructor(
    private readonly level: LogLevel = 'info',
    private readonly prefix = '',
    private readonly sink: LogSink = toProcess,
  ) {}

  enabled(level: LogLevel): boolean {
    return ORDER[level] <= ORDER[this.level];
  }

  error(msg: string): void {
    if (this.enabled('error')) this.sink(`${this.prefix}error: ${msg}\n`, 'error');
  }
  warn(msg: string): void {
    if (this.enabled('warn')) this.sink(`${this.prefix}warn: ${msg}\n`, 'warn');
  }
  info(msg: string): void {
    if (this.enabled('info')) this.sink(`${this.prefix}${msg}\n`, 'info');
  }
  debug(msg: string): void {
    if (this.enabled('debug')) this.sink(`${this.prefix}debug: ${msg}\n`, 'debug');
  }
}
