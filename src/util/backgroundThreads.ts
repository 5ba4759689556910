import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * `--background-threads`: `low` (nice 19) and `idle` (SCHED_IDLE) yield the event loop's core to
 * it; `normal` leaves the threads as started.
 */
export type BackgroundThreads = 'low' | 'idle' | 'normal';

export interface YieldedThreads {
  /** Threads of this process besides the event loop's. */
  threads: number;
  /** Set to SCHED_IDLE. */
  idle: number;
  /** Given nice 19 instead (no `chrt`, or it failed). */
  niced: number;
}

/** How one thread is moved; the defaults are `chrt` (util-linux) and os.setPriority. */
export interface ThreadScheduling {
  /** Sets SCHED_IDLE on thread `tid`; false when it could not. */
  idle: (tid: number) => boolean;
  /** Sets nice 19 on thread `tid` (throws when it cannot). */
  nice: (tid: number) => void;
}

const SYSTEM: ThreadScheduling = {
  // Node has no call for sched_setscheduler(2); chrt is in util-linux, on every Debian system.
  idle: (tid) => spawnSync('chrt', ['--idle', '-p', '0', String(tid)], { stdio: 'ignore', timeout: 2000 }).status === 0,
  // setpriority(2) with PRIO_PROCESS and a thread id changes that thread alone on Linux.
  nice: (tid) => setPriority(tid, 19),
};

/**
 * The event loop answers SIP; the process's other threads are V8's (its optimizing compiler and
 * collector helpers) and libuv's pool (the journal's fdatasync). Where they share the event loop's
 * core (always, for a process pinned to one), the kernel gave them that core while datagrams
 * waited: in the first half minute of a load V8's compiler threads took 370 ms of CPU in 20 s, in
 * slices that held INVITEs back by a millisecond and more (BENCHMARKS.md, profile finding 38).
 *
 * `low`: nice 19 (setpriority(2) on each thread id), a small share of a contended core; the
 * kernel may still let one finish its slice before the woken event loop runs. `idle`: SCHED_IDLE
 * (sched(7)), which always gives way to the event loop, and nice 19 where it cannot be set; but on
 * a saturated core the compiler then never runs, and unoptimized code costs more CPU per call.
 * An unprivileged process cannot undo either, so neither is switched with the load.
 *
 * Linux only (it reads /proc/self/task); elsewhere nothing happens. Threads started later keep
 * the normal policy.
 */
export function yieldBackgroundThreads(mode: 'low' | 'idle', how: ThreadScheduling = SYSTEM, taskDir = '/proc/self/task'): YieldedThreads {
  const done: YieldedThreads = { threads: 0, idle: 0, niced: 0 };
  let tids: number[];
  try {
    tids = readdirSync(taskDir).map(Number);
  } catch {
    return done;
  }
  for (const tid of tids) {
    // The event loop's thread is the process's own id.
    if (tid === process.pid || !Number.isInteger(tid)) continue;
    done.threads++;
    if (mode === 'idle' && how.idle(tid)) {
      done.idle++;
      continue;
    }
    try {
      how.nice(tid);
      done.niced++;
    } catch {
      // Gone already, or not ours to change: it keeps its priority.
    }
  }
  return done;
}
