/**
 * Runs SIPp (pinned to the load core) on one of bench/sipp/*.xml and reads what it wrote: the
 * statistics file (-trace_stat, a row every second and a last row at exit), the per-message
 * counts (-trace_counts), the response-time samples (-trace_rtt -rtt_freq 1) and its error log.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { spawnGroup, makeTempDir, type Group } from './processes.js';
import { HOST, freeUdpPort, waitUdpBound } from './ports.js';
import { SCENARIOS } from './paths.js';

/** SIPp's socket buffers (-buff_size): the kernel caps them at net.core.rmem_max / wmem_max. */
export const SIPP_BUFFER_BYTES = 4 * 1024 * 1024;

export interface SippOptions {
  label: string;
  /** A file in bench/sipp. */
  scenario: string;
  /** The port on 127.0.0.1 every message goes to (server, or the callee for direct calls). */
  remotePort?: number;
  /** -s: the user part of the Request-URI ([service]). */
  service?: string;
  /** -r (calls per second). */
  rate?: number;
  /** -m: calls to make before exiting. */
  calls?: number;
  /** -l: most calls open at once. */
  limit?: number;
  /** -d: the length of a <pause/> without its own (held calls). */
  pauseMs?: number;
  /** Response-time samples (-trace_rtt -rtt_freq 1). */
  rtt?: boolean;
  /** Per-message counts (-trace_counts). */
  counts?: boolean;
  cpu: number;
  /** -p: the local port (default: a free one). */
  port?: number;
  /** Wait until it has bound its port (a UAS others send to). */
  waitBound?: boolean;
  /** Stopped (SIGTERM, then SIGKILL) past this. */
  hardTimeoutMs: number;
}

export type Row = Record<string, string>;

export interface RttSample {
  /** The rtd name (inv180, inv200, reg). */
  rtd: string;
  ms: number;
}

export interface SippResult {
  label: string;
  command: string;
  code: number | null;
  /** Stopped by the harness rather than ending by itself. */
  killed: boolean;
  elapsedMs: number;
  /** Every statistics row, the last one being the final totals. */
  rows: Row[];
  last: Row | null;
  countRows: Row[];
  rtt: RttSample[];
  errorsTail: string;
  stderrTail: string;
}

export interface SippRun {
  label: string;
  port: number;
  dir: string;
  group: Group;
  command: string;
  /** The statistics rows written so far. */
  rows(): Row[];
  /** The per-message count rows written so far (with counts: true). */
  countRows(): Row[];
  done: Promise<SippResult>;
  /** Stops it now (if still running) and returns its result. */
  stop(): Promise<SippResult>;
}

/** Reads a SIPp CSV (';'-separated, header first, trailing ';'). */
export function readSippCsv(file: string): Row[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'latin1').split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return [];
  const head = lines[0]!.split(';');
  return lines.slice(1).map((l) => {
    const f = l.split(';');
    const row: Row = {};
    head.forEach((h, i) => {
      if (h) row[h] = f[i] ?? '';
    });
    return row;
  });
}

export function num(row: Row | null | undefined, key: string): number {
  if (!row) return 0;
  const v = Number(row[key]);
  return Number.isFinite(v) ? v : 0;
}

/** The epoch seconds SIPp appends to its date columns ("2026-11-24\t13:52:02.578805\t1795528322.578805"). */
export function epoch(value: string | undefined): number {
  const parts = (value ?? '').trim().split(/\s+/);
  return Number(parts[parts.length - 1]) || 0;
}

const tail = (s: string, n: number) => (s.length > n ? `…${s.slice(-n)}` : s);

function findFile(dir: string, suffix: string): string | null {
  try {
    const f = readdirSync(dir).find((n) => n.endsWith(suffix));
    return f ? path.join(dir, f) : null;
  } catch {
    return null;
  }
}

export async function startSipp(opts: SippOptions): Promise<SippRun> {
  const dir = makeTempDir(`sipp-${opts.label.replace(/[^a-z0-9]+/gi, '-')}`);
  const port = opts.port ?? (await freeUdpPort());
  const statFile = path.join(dir, 'stat.csv');
  const errFile = path.join(dir, 'errors.log');
  const argv = [
    '-sf', path.join(SCENARIOS, opts.scenario),
    '-i', HOST, '-p', String(port), '-bind_local', '-nostdin',
    '-buff_size', String(SIPP_BUFFER_BYTES),
    '-trace_stat', '-stf', statFile, '-fd', '1',
    '-trace_err', '-error_file', errFile, '-max_log_size', '5000000',
    // An overloaded SIPp keeps going (its watchdog counts are reported) rather than aborting the run.
    '-watchdog_major_maxtriggers', '1000000', '-watchdog_minor_maxtriggers', '1000000',
    ...(opts.counts ? ['-trace_counts'] : []),
    ...(opts.rtt ? ['-trace_rtt', '-rtt_freq', '1'] : []),
    ...(opts.service ? ['-s', opts.service] : []),
    ...(opts.rate !== undefined ? ['-r', String(opts.rate), '-rp', '1000'] : []),
    ...(opts.calls !== undefined ? ['-m', String(opts.calls)] : []),
    ...(opts.limit !== undefined ? ['-l', String(opts.limit)] : []),
    ...(opts.pauseMs !== undefined ? ['-d', String(opts.pauseMs)] : []),
    ...(opts.remotePort !== undefined ? [`${HOST}:${opts.remotePort}`] : []),
  ];
  const cmd = ['taskset', '-c', String(opts.cpu), 'sipp', ...argv];
  const command = cmd.map((a) => (/[\s"'<>;]/.test(a) ? `'${a}'` : a)).join(' ');
  const stderrFile = path.join(dir, 'stderr.log');
  const started = Date.now();
  const group = spawnGroup(`sipp ${opts.label}`, cmd[0]!, cmd.slice(1), { cwd: dir, stderr: stderrFile });
  let killed = false;
  const hard = setTimeout(() => {
    killed = true;
    void group.stop(3000);
  }, opts.hardTimeoutMs);
  const read = (f: string | null) => (f && existsSync(f) ? readFileSync(f, 'latin1') : '');
  const done = group.exited.then(({ code }): SippResult => {
    clearTimeout(hard);
    const rows = readSippCsv(statFile);
    const countsFile = findFile(dir, '_counts.csv');
    const rttFile = findFile(dir, '_rtt.csv');
    const rtt: RttSample[] = [];
    if (rttFile) {
      for (const line of read(rttFile).split('\n').slice(1)) {
        const [, ms, rtd] = line.trim().split(';');
        if (rtd && ms !== undefined && ms !== '') rtt.push({ rtd, ms: Number(ms) });
      }
    }
    return {
      label: opts.label,
      command,
      code,
      killed,
      elapsedMs: Date.now() - started,
      rows,
      last: rows.length ? rows[rows.length - 1]! : null,
      countRows: countsFile ? readSippCsv(countsFile) : [],
      rtt,
      errorsTail: tail(read(errFile), 3000),
      stderrTail: tail(read(stderrFile), 3000),
    };
  });
  // A SIPp that listens (a UAS) must have bound its port before anyone sends to it.
  if (opts.waitBound) {
    await waitUdpBound(port, 10_000, `sipp ${opts.label}`, () => !group.hasExited()).catch(async (e) => {
      await group.stop();
      throw new Error(`${(e as Error).message}\n${read(stderrFile)}`);
    });
  }
  return {
    label: opts.label,
    port,
    dir,
    group,
    command,
    rows: () => readSippCsv(statFile),
    countRows: () => {
      const f = findFile(dir, '_counts.csv');
      return f ? readSippCsv(f) : [];
    },
    done,
    stop: async () => {
      if (!group.hasExited()) {
        killed = true;
        await group.stop(3000);
      }
      return done;
    },
  };
}

/**
 * The rate SIPp actually offered: calls created per second while it was still creating them,
 * from its once-a-second rows (null when it ran too briefly to tell).
 */
export function offeredRate(rows: Row[], planned: number): number | null {
  if (rows.length < 2) return null;
  const t0 = epoch(rows[0]!['CurrentTime']);
  const n0 = num(rows[0], 'OutgoingCall(C)');
  const start = epoch(rows[0]!['StartTime']) || t0;
  let best: number | null = null;
  for (const r of rows.slice(1)) {
    const n = num(r, 'OutgoingCall(C)');
    const t = epoch(r['CurrentTime']);
    if (n >= planned) {
      // The row where creation ended: a lower bound over the whole run if nothing better exists.
      if (best === null && t > start) best = planned / (t - start);
      break;
    }
    if (t - t0 >= 0.9) best = (n - n0) / (t - t0);
  }
  return best;
}

/** SIPp offered less than this share of a step's rate: the step says more about SIPp than the server. */
export const SIPP_LIMITED_SHARE = 0.95;

/** Whether SIPp offered less than SIPP_LIMITED_SHARE of a step's rate. */
export function sippLimited(offered: number | null, rate: number): boolean {
  return offered !== null && offered < rate * SIPP_LIMITED_SHARE;
}

/** The note of a rate step that could not run (a server that did not start...). */
export function notRunNote(e: unknown): string {
  return `the step did not run: ${(e as Error).message?.split('\n')[0] ?? String(e)}`;
}

/**
 * The rate a passing step stands for: its nominal rate, or, when SIPp could not offer that
 * (below SIPP_LIMITED_SHARE of it), the rate it did offer.
 */
export function passedRate(step: { rate: number; offered: number | null; sippLimited: boolean }): number {
  return step.sippLimited && step.offered !== null ? Math.floor(step.offered) : step.rate;
}

/** The first column of a counts row named like `<index>_<what>` (e.g. 200_Recv for the first 200 received). */
export function countColumn(row: Row | undefined, what: string): number {
  if (!row) return 0;
  const key = Object.keys(row).find((k) => new RegExp(`^\\d+_${what}$`).test(k));
  return key ? num(row, key) : 0;
}
