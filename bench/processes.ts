/**
 * Everything the benchmark starts: each child in its own process group (so that Kamailio's
 * forked workers and taskset'd programs go with it), every temp dir it makes, and the clean-up of
 * both at the end, on Ctrl-C / SIGTERM and on errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync } from 'node:fs';
import { ROOT } from './paths.js';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Group {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Settles when the group leader exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited: () => boolean;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the leader is gone. */
  stop: (graceMs?: number) => Promise<void>;
}

const groups = new Set<Group>();
const tempDirs = new Set<string>();

export interface SpawnOptions {
  cwd?: string;
  /** Files for the child's stdout / stderr (default: discarded). 'pipe' keeps a pipe. */
  stdout?: string | 'pipe';
  stderr?: string | 'pipe';
  env?: NodeJS.ProcessEnv;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

/** Starts `cmd args` as the leader of a new process group (setsid). */
export function spawnGroup(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Group {
  const fds: number[] = [];
  const target = (t: string | 'pipe' | undefined): 'ignore' | 'pipe' | number => {
    if (t === undefined) return 'ignore';
    if (t === 'pipe') return 'pipe';
    const fd = openSync(t, 'a');
    fds.push(fd);
    return fd;
  };
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
    stdio: ['ignore', target(opts.stdout), target(opts.stderr)],
  });
  for (const fd of fds) closeSync(fd);
  if (child.pid === undefined) throw new Error(`cannot start ${cmd}`);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      done = true;
      resolve({ code: null, signal: null });
    });
  });
  const pid = child.pid;
  const group: Group = {
    name,
    pid,
    child,
    exited,
    hasExited: () => done,
    stop: async (graceMs = 3000) => {
      if (!done) {
        killGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // The leader is gone; make sure no forked member of its group outlives it.
      killGroup(pid, 'SIGKILL');
      groups.delete(group);
    },
  };
  groups.add(group);
  // A leader that ends by itself (SIPp done) takes any member left in its group with it.
  void exited.then(() => {
    killGroup(pid, 'SIGKILL');
    groups.delete(group);
  });
  return group;
}

/** Stops every group still running (in parallel). */
export async function stopAll(): Promise<void> {
  await Promise.all([...groups].map((g) => g.stop(2000)));
}

const TMPFS_MAGIC = 0x01021994;

/** The filesystem a path is on, by name where it is one the report should mention. */
export function filesystemOf(p: string): string {
  try {
    const t = statfsSync(p).type;
    return ({ [TMPFS_MAGIC]: 'tmpfs', 0xef53: 'ext2/3/4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x794c7630: 'overlayfs' } as Record<number, string>)[t] ?? `type 0x${t.toString(16)}`;
  } catch {
    return 'unknown';
  }
}

let base: string | null = null;

/**
 * Where temp dirs go (decided once a run). Files the journal fsyncs must be on a disk: on tmpfs (Debian 13's /tmp)
 * an fdatasync costs nothing and the journal figures would mean nothing, so then the
 * repository's own `.bench-tmp/` is used.
 */
export function tempBase(): string {
  if (base === null) {
    base = filesystemOf(tmpdir()) === 'tmpfs' ? path.join(ROOT, '.bench-tmp') : tmpdir();
    mkdirSync(base, { recursive: true });
  }
  return base;
}

/** A temp dir removed at the end of the run (also on errors and Ctrl-C). */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tempBase(), `sipstate-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Synchronous last resort (process 'exit'): SIGKILL every group, remove every temp dir. */
function cleanupSync(): void {
  for (const g of groups) killGroup(g.pid, 'SIGKILL');
  groups.clear();
  if (!process.env.BENCH_KEEP_TMP) for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

/** Installs the handlers: Ctrl-C / SIGTERM stop everything and exit 130/143; 'exit' kills leftovers. */
export function installCleanup(log: (line: string) => void): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    if (stopping) {
      cleanupSync();
      process.exit(code);
    }
    stopping = true;
    log(`\n${signal}: stopping everything the benchmark started...`);
    void stopAll().finally(() => {
      cleanupSync();
      process.exit(code);
    });
  };
  process.on('SIGINT', () => onSignal('SIGINT', 130));
  process.on('SIGTERM', () => onSignal('SIGTERM', 143));
  process.on('SIGHUP', () => onSignal('SIGHUP', 129));
  process.on('exit', cleanupSync);
}

/** Stops all groups and removes all temp dirs (the normal end, and after an error). */
export async function cleanupAll(): Promise<void> {
  await stopAll();
  cleanupSync();
}
