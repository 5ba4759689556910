/**
 * REGISTER rate: for each step, a fresh server and one SIPp registering `rate` distinct users a
 * second (bench/sipp/register.xml) for a fixed window. A step passes with zero failed REGISTERs;
 * stepping stops at the first failing step, or when SIPp itself could not offer the rate.
 */
import { LoadWindowCpu } from './loadWindowCpu.js';
import { udpSocket } from './ports.js';
import { startServer, warmUp } from './servers.js';
import type { ServerName } from './server.js';
import { notRunNote, startSipp, num, offeredRate, passedRate, sippLimited } from './sipp.js';
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
  /** The server's share of one core while the load was offered (1.0 = one core busy). */
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
    // A step that could not run (a server that did not start...) ends the stepping as a failure;
    // the steps before it stay in the result.
    const didNotRun = (e: unknown): null => {
      const why = notRunNote(e);
      steps.push({
        rate, seconds, planned, successful: 0, failed: planned, failures: {}, started: 0, offered: null, retransmissions: 0, rcvbufErrors: 0,
        serverDrops: 0, serverCpu: 0, bindingsAfter: null, sippWatchdog: 0, ok: false, sippLimited: false, command: '', note: why,
      });
      log(`  ${name} REGISTER ${rate}/s: ${why}`);
      return null;
    };
    const server = await startServer(name, cpus.server).catch(didNotRun);
    if (!server) break;
    try {
      await warmUp(server, cpus.load, 'registers');
      const before = udpCounters();
      const drops0 = udpSocket(server.port)?.drops ?? 0;
      const busy = new LoadWindowCpu(server.group.pid, seconds * 1000);
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
      const serverCpu = busy.share();
      const drops1 = udpSocket(server.port)?.drops ?? drops0;
      const delta = udpDelta(before, udpCounters());
      const successful = num(res.last, 'SuccessfulCall(C)');
      const failed = planned - successful;
      const offered = offeredRate(res.rows, planned);
      const bindingsAfter = await server.bindings().catch(() => null);
      const limited = sippLimited(offered, rate);
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
        serverCpu,
        bindingsAfter,
        sippWatchdog: num(res.last, 'WatchdogMajor(C)') + num(res.last, 'WatchdogMinor(C)'),
        ok: failed === 0 && !res.killed,
        sippLimited: limited,
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
    } catch (e) {
      didNotRun(e);
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
  return { server: name, steps, max: passed.length ? Math.max(...passed.map(passedRate)) : null, stoppedBySipp };
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
