/**
 * Call rate: for each step, a fresh server, the callee SIPp registered with it, and a caller SIPp
 * making `rate` calls a second (bench/sipp/uac.xml: INVITE, 100/180, 200, ACK, ~100 ms, BYE, 200)
 * for `seconds`. A step passes with fewer than 0.1 % failed calls (a call that never completed
 * counts as failed) and is stopped once more than that have failed. The rates tried come from a
 * RateSearch (bench/rateSearch.ts: the given steps while passing, more above or below them, one
 * bisection, at most seven steps). Stepping also stops when SIPp could not offer the rate.
 */
import { groupCpuSeconds } from './memory.js';
import { LoadWindowCpu } from './loadWindowCpu.js';
import { udpSocket } from './ports.js';
import { startCallee, startCallers, startServer, warmUp } from './servers.js';
import type { ServerName, ServerOptions } from './server.js';
import { notRunNote, num, offeredRate, passedRate, sippLimited, type SippResult, type SippRun } from './sipp.js';
import { udpCounters, udpDelta } from './udpStats.js';
import { RateSearch } from './rateSearch.js';

/** A step passes below this ratio of failed calls. */
export const MAX_FAILED_RATIO = 0.001;

export interface CallStep {
  rate: number;
  seconds: number;
  planned: number;
  successful: number;
  failed: number;
  failedRatio: number;
  offered: number | null;
  retransmissions: number;
  /** Kernel-wide UDP RcvbufErrors during the step; the server's and the callee's socket drops. */
  rcvbufErrors: number;
  serverDrops: number;
  calleeDrops: number;
  /** The server's share of one core while the load was offered; its CPU seconds over the whole step. */
  serverCpu: number;
  serverCpuSeconds: number;
  sippWatchdog: number;
  /** Why calls failed, from SIPp's counters. */
  failures: Record<string, number>;
  ok: boolean;
  sippLimited: boolean;
  command: string;
  note?: string;
}

export interface CallResult {
  server: ServerName | 'direct';
  steps: CallStep[];
  /** The highest rate with < 0.1 % failed calls. */
  max: number | null;
  stoppedBySipp: boolean;
}

/** CPU time per completed call at a step, µs (null: none completed). */
export function cpuPerCall(step: Pick<CallStep, 'serverCpuSeconds' | 'successful'>): number | null {
  return step.successful > 0 ? (step.serverCpuSeconds / step.successful) * 1e6 : null;
}

/** The highest rate at which both runs passed a step, and each run's step there (null: none). */
export function highestCommonPass(a: CallResult | undefined, b: CallResult | undefined): { rate: number; a: CallStep; b: CallStep } | null {
  let best: { rate: number; a: CallStep; b: CallStep } | null = null;
  for (const sa of a?.steps ?? []) {
    const sb = sa.ok ? b?.steps.find((s) => s.ok && s.rate === sa.rate) : undefined;
    if (sb && (best === null || sa.rate > best.rate)) best = { rate: sa.rate, a: sa, b: sb };
  }
  return best;
}

const FAILURE_COUNTERS = [
  'FailedTimeoutOnRecv(C)', 'FailedMaxUDPRetrans(C)', 'FailedUnexpectedMessage(C)', 'FailedCallRejected(C)',
  'FailedTimeoutOnSend(C)', 'FailedCannotSendMessage(C)', 'FailedOutboundCongestion(C)',
];

export function failureCounts(res: SippResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of FAILURE_COUNTERS) {
    const n = num(res.last, k);
    if (n > 0) out[k.replace(/^Failed|\(C\)$/g, '')] = n;
  }
  return out;
}

/** One step: `server` null runs the caller straight at the callee (SIPp against itself). */
export async function callStep(name: ServerName | 'direct', rate: number, seconds: number, cpus: { server: number; load: number }, sipstate: Omit<ServerOptions, 'cpu'> = {}): Promise<CallStep> {
  const planned = Math.round(rate * seconds);
  const server = name === 'direct' ? null : await startServer(name, cpus.server, sipstate);
  try {
    const callee = await startCallee(server, cpus.load, `${name} ${rate}cps`);
    try {
      if (server) await warmUp(server, cpus.load, 'calls');
      const before = udpCounters();
      const serverDrops0 = server ? udpSocket(server.port)?.drops ?? 0 : 0;
      const calleeDrops0 = udpSocket(callee.port)?.drops ?? 0;
      const cpu0 = server ? groupCpuSeconds(server.group.pid) : 0;
      const busy = server ? new LoadWindowCpu(server.group.pid, seconds * 1000) : null;
      const run = await startCallers({ label: `${name} caller ${rate}cps`, remotePort: server ? server.port : callee.port, rate, seconds, cpu: cpus.load });
      const early = stopOnceFailed(run, planned);
      const res = await run.done;
      early.cancel();
      const serverCpu = busy?.share() ?? 0;
      const cpu1 = server ? groupCpuSeconds(server.group.pid) : 0;
      const serverDrops = server ? (udpSocket(server.port)?.drops ?? serverDrops0) - serverDrops0 : 0;
      const calleeDrops = (udpSocket(callee.port)?.drops ?? calleeDrops0) - calleeDrops0;
      const delta = udpDelta(before, udpCounters());
      const successful = num(res.last, 'SuccessfulCall(C)');
      const failed = planned - successful;
      const offered = offeredRate(res.rows, planned);
      const step: CallStep = {
        rate,
        seconds,
        planned,
        successful,
        failed,
        failedRatio: failed / planned,
        offered,
        retransmissions: num(res.last, 'Retransmissions(C)'),
        rcvbufErrors: delta.RcvbufErrors,
        serverDrops,
        calleeDrops,
        serverCpu,
        serverCpuSeconds: server ? cpu1 - cpu0 : 0,
        sippWatchdog: num(res.last, 'WatchdogMajor(C)') + num(res.last, 'WatchdogMinor(C)'),
        failures: failureCounts(res),
        ok: failed / planned < MAX_FAILED_RATIO && !res.killed,
        sippLimited: sippLimited(offered, rate),
        command: res.command,
      };
      if (early.stoppedAfter !== null) {
        step.note = `stopped after ${early.stoppedAfter} s: ${early.failedCalls} calls had failed, more than the 0.1 % of ${planned.toLocaleString('en-US')} allowed`;
      } else if (res.killed) step.note = 'SIPp did not finish in time';
      else if (res.last === null) step.note = `SIPp wrote no statistics (exit ${res.code}): ${res.stderrTail || res.errorsTail}`;
      return step;
    } finally {
      await callee.stop();
    }
  } finally {
    await server?.stop();
  }
}

/**
 * Ends a step as soon as it has failed: once SIPp's count of failed calls (its once-a-second row)
 * is past what a passing step may have, the rest of the run cannot change the verdict. An
 * overloaded server's step otherwise runs on for its calls' 8 s timeouts and SIPp's grace.
 */
function stopOnceFailed(run: SippRun, planned: number): { stoppedAfter: number | null; failedCalls: number; cancel(): void } {
  const started = Date.now();
  const state = {
    stoppedAfter: null as number | null,
    failedCalls: 0,
    cancel: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    const rows = run.rows();
    const failedCalls = num(rows.length ? rows[rows.length - 1]! : null, 'FailedCall(C)');
    if (failedCalls < planned * MAX_FAILED_RATIO) return;
    state.stoppedAfter = Math.round((Date.now() - started) / 1000);
    state.failedCalls = failedCalls;
    clearInterval(timer);
    void run.stop();
  }, 1000);
  return state;
}

function stepThatDidNotRun(rate: number, seconds: number, e: unknown): CallStep {
  const planned = Math.round(rate * seconds);
  return {
    rate, seconds, planned, successful: 0, failed: planned, failedRatio: 1, offered: null, retransmissions: 0, rcvbufErrors: 0,
    serverDrops: 0, calleeDrops: 0, serverCpu: 0, serverCpuSeconds: 0, sippWatchdog: 0, failures: {}, ok: false, sippLimited: false,
    command: '', note: notRunNote(e),
  };
}

export function describeCallStep(name: string, s: CallStep): string {
  const why = Object.entries(s.failures).map(([k, v]) => `${k} ${v}`).join(', ');
  return (
    `  ${name} ${s.rate} cps x ${s.seconds}s: ${s.successful}/${s.planned} ok, ${s.failed} failed (${(s.failedRatio * 100).toFixed(2)}%${why ? `: ${why}` : ''})` +
    `${s.offered !== null ? `, offered ${s.offered.toFixed(0)} cps` : ''}, ${s.retransmissions} retrans, RcvbufErrors +${s.rcvbufErrors}` +
    ` (server socket +${s.serverDrops}, callee +${s.calleeDrops})${name !== 'direct' ? `, server CPU ${(s.serverCpu * 100).toFixed(0)}%` : ''}` +
    `${s.sippWatchdog ? `, SIPp watchdog ${s.sippWatchdog}` : ''}${s.note ? ` (${s.note})` : ''}`
  );
}

export async function callRate(name: ServerName, rates: number[], seconds: number, cpus: { server: number; load: number }, log: (s: string) => void, sipstate: Omit<ServerOptions, 'cpu'> = {}): Promise<CallResult> {
  const steps: CallStep[] = [];
  let stoppedBySipp = false;
  const search = new RateSearch(rates);
  for (let next = search.next(); next !== null; next = search.next()) {
    const rate = next;
    // A step that could not run (a server that did not start...) ends the stepping as a failure;
    // the steps before it stay in the result.
    let ran = true;
    const step = await callStep(name, rate, seconds, cpus, sipstate).catch((e: unknown) => {
      ran = false;
      return stepThatDidNotRun(rate, seconds, e);
    });
    steps.push(step);
    log(describeCallStep(name, step));
    if (!ran) break;
    if (step.ok && step.sippLimited) {
      stoppedBySipp = true;
      log(`  SIPp offered only ${step.offered?.toFixed(0)} of ${rate} cps: stepping stops here`);
      break;
    }
    search.record(rate, step.ok);
  }
  const passed = steps.filter((s) => s.ok);
  return { server: name, steps, max: passed.length ? Math.max(...passed.map(passedRate)) : null, stoppedBySipp };
}
