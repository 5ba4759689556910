import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

/** test/sipp in the source tree (tsc does not copy XML), resolved from dist/test/helpers. */
export const SCENARIO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/sipp');
export const SIPP = process.env.SIPP ?? 'sipp';

export interface SippOptions {
  /** A file in test/sipp ('caller-call.xml') or a path. */
  scenario: string;
  /** host:port every message goes to (the proxy). */
  remote: string;
  /** -s: user part, [service] in the scenarios. */
  service?: string;
  /** -cid_str: a literal Call-ID; a caller and its callees share one (SIPp maps requests to calls by Call-ID). */
  callId?: string;
  /** -p: local port; a free one by default. */
  port?: number;
  /** -set name value: scenario globals (noreg, xrr). */
  set?: Record<string, string>;
  /** More sipp flags, e.g. ['-nr']. */
  args?: string[];
  /** Hard limit: killed (and failed) past this; sipp's own -timeout is set 2 s below. Default 20 s. */
  timeoutMs?: number;
  /** Name used in reports; defaults to the scenario. */
  label?: string;
  /** -m: calls to run before exiting (default 1). */
  calls?: number;
  /** -i: local address (default 127.0.0.1; loopback has many: 127.0.0.2, 127.0.0.3...). */
  ip?: string;
}

export interface SippResult {
  label: string;
  port: number;
  command: string;
  /** Exit code; a SIGTERM'd sipp exits 0, so look at `ok`. */
  code: number | null;
  /** Stopped by us (hard limit or stop()) rather than ending by itself. */
  killed: boolean;
  ok: boolean;
  durationMs: number;
  stdout: string;
  stderr: string;
  /** -trace_err file: unexpected messages, failed checks, timeouts, warning actions. */
  errors: string;
  /** -trace_msg file: every message sent and received. */
  messages: string;
  /** Everything above, trimmed, for an assertion message. */
  report: () => string;
}

export interface SippRun {
  label: string;
  port: number;
  /** Settles when sipp exits (never rejects). */
  done: Promise<SippResult>;
  /** Ends it now if still running (it is then not ok) and returns its result. */
  stop: () => Promise<SippResult>;
}

const EXIT: Record<number, string> = {
  0: 'all calls succeeded',
  1: 'at least one call failed',
  97: 'exit on internal command',
  99: 'no call processed',
  254: 'could not bind its socket',
  255: 'fatal error or global timeout',
};

const tail = (s: string, n: number) => (s.length > n ? `…${s.slice(-n)}` : s);

/** Starts sipp in the background (e.g. a callee waiting for its INVITE). */
export async function startSipp(opts: SippOptions): Promise<SippRun> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(ip));
  const label = opts.label ?? opts.scenario;
  const limit = opts.timeoutMs ?? 20_000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sipp-'));
  const files = { messages: path.join(dir, 'messages.log'), errors: path.join(dir, 'errors.log') };
  const argv = [
    '-sf', path.isAbsolute(opts.scenario) ? opts.scenario : path.join(SCENARIO_DIR, opts.scenario),
    '-i', ip, '-bind_local', '-p', String(port), '-m', String(opts.calls ?? 1), '-nostdin',
    '-timeout', `${Math.max(1, Math.floor(limit / 1000) - 2)}s`, '-timeout_error',
    '-trace_msg', '-message_file', files.messages, '-trace_err', '-error_file', files.errors,
    ...(opts.service ? ['-s', opts.service] : []),
    ...(opts.callId ? ['-cid_str', opts.callId] : []),
    ...Object.entries(opts.set ?? {}).flatMap(([k, v]) => ['-set', k, v]),
    ...(opts.args ?? []),
    opts.remote,
  ];
  const command = [SIPP, ...argv].map((a) => (/[\s<>;'"]/.test(a) ? `'${a}'` : a)).join(' ');
  const started = Date.now();
  const child = spawn(SIPP, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let killed = false;
  child.stdout.on('data', (d) => (stdout = tail(stdout + d, 20_000)));
  child.stderr.on('data', (d) => (stderr += d));
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killed = true;
    child.kill('SIGTERM'); // sipp ends gracefully (flushing its logs) on SIGTERM
    setTimeout(() => child.kill('SIGKILL'), 1000).unref();
  };
  const hardLimit = setTimeout(kill, limit);

  const done = new Promise<SippResult>((resolve) => {
    let settled = false;
    const finish = async (code: number | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(hardLimit);
      const read = (f: string) => readFile(f, 'utf8').catch(() => '');
      // Entries in sipp's error log are not newline-separated: split them at their timestamps.
      const errors = (await read(files.errors)).replace(/(?<=\S)(?=\d{4}-\d\d-\d\d\t\d\d:\d\d:\d\d\.\d+\t)/g, '\n');
      const messages = await read(files.messages);
      if (!process.env.SIPP_KEEP_LOGS) await rm(dir, { recursive: true, force: true });
      if (spawnError) stderr += `\nspawn failed: ${spawnError.message}`;
      const durationMs = Date.now() - started;
      const ok = code === 0 && !killed && !spawnError;
      const report = () =>
        [
          `sipp ${label} (port ${port}): exit ${code} (${code === null ? 'killed' : EXIT[code] ?? '?'})` +
            `${killed ? `, stopped by the test after ${durationMs} ms` : ` after ${durationMs} ms`}`,
          `$ ${command}`,
          process.env.SIPP_KEEP_LOGS ? `logs kept in ${dir}` : '',
          `--- errors log ---\n${tail(errors.trim(), 4000) || '(empty)'}`,
          // sipp prints its error log to stderr too: show stderr only when the log has nothing
          !errors.trim() && stderr.trim() ? `--- stderr ---\n${tail(stderr.trim(), 2000)}` : '',
          `--- messages ---\n${tail(messages.trim(), 6000) || '(none)'}`,
        ]
          .filter(Boolean)
          .join('\n');
      resolve({ label, port, command, code, killed, ok, durationMs, stdout, stderr, errors, messages, report });
    };
    child.once('error', (e) => void finish(null, e));
    child.once('close', (code) => void finish(code)); // 'close': stdout/stderr drained too
  });
  return { label, port, done, stop: () => (kill(), done) };
}

/** Runs sipp to its end (or its hard limit). */
export async function runSipp(opts: SippOptions): Promise<SippResult> {
  return (await startSipp(opts)).done;
}

export interface TracedMessage {
  dir: 'sent' | 'received';
  /** Request line or status line. */
  first: string;
  text: string;
}

/** Splits a -trace_msg log into its messages. */
export function sipMessages(log: string): TracedMessage[] {
  const out: TracedMessage[] = [];
  for (const block of log.split(/^-{20,} .*$/m)) {
    const m = /^\s*UDP message (sent|received)[^\n]*\n\n([\s\S]*)$/.exec(block);
    if (!m) continue;
    const text = m[2]!.trim().replace(/\r/g, '');
    out.push({ dir: m[1] === 'sent' ? 'sent' : 'received', first: text.split('\n')[0]!, text });
  }
  return out;
}

/** Header values (all occurrences, case-insensitive name) of one traced message. */
export function headers(msg: TracedMessage, name: string): string[] {
  const re = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'gim');
  return [...msg.text.split('\n\n')[0]!.matchAll(re)].map((m) => m[1]!.trim());
}
