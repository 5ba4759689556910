/**
 * Memory: a fresh server; its footprint (RSS and PSS of its whole process group, and Kamailio's
 * shm in use) idle, after `users` distinct users registered, and with `calls` answered calls held
 * open (bench/sipp/uac-hold.xml) — sampled once every call is answered (their transactions still
 * alive) and again once the server has no transaction left (only what a call costs while it lasts).
 */
import { CALLEE, startCallee, startServer } from './servers.js';
import type { Server, ServerName } from './server.js';
import type { MemorySample } from './memory.js';
import { startSipp, num, countColumn } from './sipp.js';
import { sleep } from './ports.js';

export interface MemoryResult {
  server: ServerName;
  idle: MemorySample;
  users: number;
  registerRate: number;
  registered: number;
  bindings: number | null;
  afterRegister: MemorySample;
  callsPlanned: number;
  callRate: number;
  answered: number;
  failedCalls: number;
  beforeCalls: MemorySample;
  /** All calls answered; INVITE transactions still alive. */
  callsPeak: MemorySample;
  transactionsAtPeak: number | null;
  /** No transaction left (or the wait gave up): the calls alone. */
  callsSettled: MemorySample;
  transactionsSettled: number | null;
  settleSeconds: number;
  notes: string[];
}

export interface MemoryOptions {
  users: number;
  registerRate: number;
  calls: number;
  callRate: number;
  /** Longest wait for the transactions to end after the last call was answered. */
  settleCapMs: number;
}

export async function memoryUse(name: ServerName, o: MemoryOptions, cpus: { server: number; load: number }, log: (s: string) => void): Promise<MemoryResult> {
  const notes: string[] = [];
  const server = await startServer(name, cpus.server);
  try {
    await sleep(1000);
    const idle = await settledMemory(server);

    // 1. `users` distinct users, each one REGISTER.
    const reg = await startSipp({
      label: `${name} memory register`,
      scenario: 'register.xml',
      remotePort: server.port,
      rate: o.registerRate,
      calls: o.users,
      limit: Math.max(1000, o.registerRate * 10),
      cpu: cpus.load,
      hardTimeoutMs: (o.users / o.registerRate) * 1000 + 60_000,
    });
    const regRes = await reg.done;
    const registered = num(regRes.last, 'SuccessfulCall(C)');
    if (registered !== o.users) notes.push(`${o.users - registered} of ${o.users} REGISTERs failed at ${o.registerRate}/s`);
    // The REGISTER transactions linger (sipstate: Timer J, 64×T1; Kamailio: its wait timer):
    // what a binding costs is measured once they are gone.
    const regSettle = await settle(server, o.settleCapMs);
    if (regSettle !== 0) notes.push(`${regSettle ?? '?'} REGISTER transactions still alive after ${o.settleCapMs / 1000} s`);
    const afterRegister = await settledMemory(server);
    const bindings = await server.bindings().catch(() => null);
    log(`  ${name}: ${registered} users registered (${bindings ?? '?'} bindings), RSS ${mb(idle.rssBytes)} -> ${mb(afterRegister.rssBytes)}`);

    // 2. `calls` answered calls held open.
    const callee = await startCallee(server, cpus.load, `${name} memory`);
    try {
      await sleep(1000);
      const beforeCalls = await settledMemory(server);
      const rampMs = (o.calls / o.callRate) * 1000;
      const caller = await startSipp({
        label: `${name} memory calls`,
        scenario: 'uac-hold.xml',
        remotePort: server.port,
        service: CALLEE,
        rate: o.callRate,
        calls: o.calls,
        limit: o.calls * 2,
        pauseMs: 30 * 60_000,
        counts: true,
        cpu: cpus.load,
        hardTimeoutMs: 30 * 60_000,
      });
      try {
        // Until every call is answered (200 received) or failed.
        const deadline = Date.now() + rampMs + 30_000;
        let answered = 0;
        let failed = 0;
        for (;;) {
          await sleep(500);
          const counts = caller.countRows();
          answered = countColumn(counts[counts.length - 1], '200_Recv');
          const rows = caller.rows();
          failed = num(rows[rows.length - 1], 'FailedCall(C)');
          if (answered + failed >= o.calls || Date.now() > deadline || caller.group.hasExited()) break;
        }
        if (answered + failed < o.calls) notes.push(`only ${answered} of ${o.calls} calls answered in time`);
        if (failed > 0) notes.push(`${failed} of ${o.calls} held calls failed at ${o.callRate} cps`);
        await sleep(1000);
        const callsPeak = await settledMemory(server);
        const transactionsAtPeak = await server.transactions().catch(() => null);
        log(`  ${name}: ${answered} calls answered and held, ${transactionsAtPeak ?? '?'} transactions alive, RSS ${mb(beforeCalls.rssBytes)} -> ${mb(callsPeak.rssBytes)}`);

        const t0 = Date.now();
        const transactionsSettled = await settle(server, o.settleCapMs);
        if (transactionsSettled !== 0) notes.push(`${transactionsSettled ?? '?'} transactions still alive after ${o.settleCapMs / 1000} s`);
        const callsSettled = await settledMemory(server);
        const settleSeconds = (Date.now() - t0) / 1000;
        log(`  ${name}: transactions ended after ${settleSeconds.toFixed(0)} s (${transactionsSettled ?? '?'} left), RSS ${mb(callsSettled.rssBytes)}`);
        return {
          server: name,
          idle,
          users: o.users,
          registerRate: o.registerRate,
          registered,
          bindings,
          afterRegister,
          callsPlanned: o.calls,
          callRate: o.callRate,
          answered,
          failedCalls: failed,
          beforeCalls,
          callsPeak,
          transactionsAtPeak,
          callsSettled,
          transactionsSettled,
          settleSeconds,
          notes,
        };
      } finally {
        await caller.stop();
      }
    } finally {
      await callee.stop();
    }
  } finally {
    await server.stop();
  }
}

/**
 * What the server holds, once it has handed back what its last garbage collection freed.
 * sipstate's full GC (memoryHeld runs one) frees pages that V8 returns to the kernel over the
 * next second or so; a sample taken at once still counts that garbage (measured: 10,000 bindings
 * read 3.3 KiB each at once, 1.5 KiB a second later). So: samples 500 ms apart until two in a row
 * agree within 256 KiB, at most 6 s. Kamailio's RSS does not move: its samples stop at the second.
 */
export async function settledMemory(server: Pick<Server, 'memoryHeld'>, capMs = 6000, intervalMs = 500): Promise<MemorySample> {
  let sample = await server.memoryHeld();
  const firstRssBytes = sample.rssBytes;
  const t0 = Date.now();
  while (Date.now() - t0 < capMs) {
    await sleep(intervalMs);
    const next = await server.memoryHeld();
    const steady = Math.abs(next.rssBytes - sample.rssBytes) < 256 * 1024;
    sample = next;
    if (steady) break;
  }
  return { ...sample, firstRssBytes };
}

/** Waits (at most `capMs`) until the server has no transaction left; returns how many are left. */
async function settle(server: Server, capMs: number): Promise<number | null> {
  const t0 = Date.now();
  let left = await server.transactions().catch(() => null);
  while (left !== 0 && Date.now() - t0 < capMs) {
    await sleep(1000);
    left = await server.transactions().catch(() => null);
  }
  await sleep(1000);
  return left;
}

export const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
