/**
 * REGISTER rate: for each step, a fresh server and one SIPp registering `rate` distinct users a
 * second (bench/sipp/register.xml) for a fixed window. A step passes with zero failed REGISTERs;
 * stepping stops at the first failing step, or when SIPp itself could not offer the rate.
 */
import { groupCpuSeconds } from './memory.js';
import { udpSocket } from './ports.js';
import { startServer, warmUp } from './servers.js';
import type { ServerName } from './server.js';
import { startSipp, num, offeredRate } from './sipp.js';
import { udpCounters, udpDelta } from './udpStats.js';
import { failureCounts } from './callRate.js';

export interface RegisterStep {
  rate: number;
  seconds: number;
  planned: number;
  successful: number;
  failed: number;
  /** SIPp's own failure counters (TimeoutOnRecv, UnexpectedMessage...); `started`: REGISTERs SIPp sent. */
  failures: Record<string, number>;
  started: number;
  /** The rate SIPp actually offered (null: too short to tell). */
  offered: number | null;
  retransmissions: number;
  /** Kernel-wide UDP RcvbufErrors during the step, and the server socket's own drops. */
  rcvbufErrors: number;
  serverDrops: number;
  /** Server CPU time over the step's wall time (1.0 = one core busy). */
  serverCpu: number;
  bindingsAfter: number | null;
  sippWatchdog: number;
  ok: boolean;
  /** SIPp offered less than 95 % of the rate: the step says more about SIPp than the server. */
  sippLimited: boolean;
  command: string;
  note?: string;
}

export interface RegisterResult {
  server: ServerName;
  steps: RegisterStep[];
  /** The highest rate with zero failures. */
  max: number | null;
  /** Stepping stopped because SIPp could not offer more, not because the server failed. */
  stoppedBySipp: boolean;
}

export async function registerRate(name: ServerName, rates: number[], seconds: number, cpus: { server: number; load: number }, log: (s: string) => void): Promise<RegisterResult> {
  const steps: RegisterStep[] = [];
  let stoppedBySipp = false;
  for (const rate of rates) {
    const planned = Math.round(rate * seconds);
    const server = await startServer(name, cpus.server);
    try {
      await warmUp(server, cpus.load, 'registers');
      const before = udpCounters();
      const drops0 = udpSocket(server.port)?.drops ?? 0;
      const cpu0 = groupCpuSeconds(server.group.pid);
      const t0 = Date.now();
      const run = await startSipp({
        label: `${name} register ${rate}/s`,
        scenario: 'register.xml',
        remotePort: server.port,
        rate,
        calls: planned,
        limit: Math.max(1000, rate * 10),
        cpu: cpus.load,
        hardTimeoutMs: seconds * 1000 + 30_000,
      });
      const res = await run.done;
      const wall = (Date.now() - t0) / 1000;
      const cpu1 = groupCpuSeconds(server.group.pid);
      const drops1 = udpSocket(server.port)?.drops ?? drops0;
      const delta = udpDelta(before, udpCounters());
      const successful = num(res.last, 'SuccessfulCall(C)');
      const failed = planned - successful;
      const offered = offeredRate(res.rows, planned);
      const bindingsAfter = await server.bindings().catch(() => null);
      const sippLimited = offered !== null && offered < rate * 0.95;
      const step: RegisterStep = {
        rate,
        seconds,
        planned,
        successful,
        failed,
        failures: failureCounts(res),
        started: num(res.last, 'OutgoingCall(C)'),
        offered,
        retransmissions: num(res.last, 'Retransmissions(C)'),
        rcvbufErrors: delta.RcvbufErrors,
        serverDrops: drops1 - drops0,
        serverCpu: (cpu1 - cpu0) / wall,
        bindingsAfter,
        sippWatchdog: num(res.last, 'WatchdogMajor(C)') + num(res.last, 'WatchdogMinor(C)'),
        ok: failed === 0 && !res.killed,
        sippLimited,
        command: res.command,
      };
      if (res.killed) step.note = 'SIPp did not finish in time';
      else if (res.last === null) step.note = `SIPp wrote no statistics (exit ${res.code}): ${res.stderrTail || res.errorsTail}`;
      steps.push(step);
      log(
        `  ${name} REGISTER ${rate}/s x ${seconds}s: ${successful}/${planned} ok, ${failed} failed` +
          `${failed > 0 ? ` (${describeFailures(step)})` : ''}` +
          `${offered !== null ? `, offered ${offered.toFixed(0)}/s` : ''}, ${step.retransmissions} retrans, ` +
          `RcvbufErrors +${step.rcvbufErrors} (server socket +${step.serverDrops}), server CPU ${(step.serverCpu * 100).toFixed(0)}%` +
          `${bindingsAfter !== null ? `, ${bindingsAfter} bindings` : ''}${step.note ? ` (${step.note})` : ''}`,
      );
    } finally {
      await server.stop();
    }
    const last = steps[steps.length - 1]!;
    if (!last.ok) break;
    if (last.sippLimited) {
      stoppedBySipp = true;
      log(`  SIPp offered only ${last.offered?.toFixed(0)}/s of ${rate}/s: stepping stops here`);
      break;
    }
  }
  const passed = steps.filter((s) => s.ok);
  return { server: name, steps, max: passed.length ? Math.max(...passed.map((s) => s.offered !== null && s.sippLimited ? Math.floor(s.offered) : s.rate)) : null, stoppedBySipp };
}

/** Why REGISTERs of a step did not succeed: SIPp's counters, and any SIPp never sent. */
export function describeFailures(s: Pick<RegisterStep, 'failures' | 'started' | 'planned' | 'successful'>): string {
  const parts = Object.entries(s.failures).map(([k, v]) => `${k} ${v}`);
  const unsent = s.planned - s.started;
  if (unsent > 0) parts.push(`${unsent} never sent by SIPp`);
  const unexplained = s.planned - s.successful - unsent - Object.values(s.failures).reduce((a, b) => a + b, 0);
  if (unexplained > 0) parts.push(`${unexplained} without a SIPp failure counter`);
  return parts.join(', ');
}
