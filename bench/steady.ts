/**
 * Steady run: a fresh sipstate carries calls at one fixed rate for minutes (bench/sipp/uac.xml,
 * the call-rate scenario), its RSS sampled every 10 s. Transactions linger 64×T1 = 32 s, so the
 * footprint settles within the first minute; a leak shows as RSS still climbing after that. RSS
 * rises and falls with V8's collections (how far the heap grows between them differs from run to
 * run), so once a minute the heap is also read right after a full collection: the held figure.
 */
import { startCallee, startCallers, startServer, warmUp } from './servers.js';
import type { ServerName } from './server.js';
import { num } from './sipp.js';
import { sleep } from './ports.js';
import { failureCounts } from './callRate.js';

export interface SteadySample {
  /** Seconds since the load started. */
  at: number;
  rssBytes: number;
  transactions: number | null;
  /** Once a minute: the V8 heap right after a full collection (what is really held). */
  heapAfterGcBytes?: number;
}

export interface SteadyResult {
  server: ServerName;
  rate: number;
  seconds: number;
  planned: number;
  successful: number;
  failures: Record<string, number>;
  samples: SteadySample[];
  /** Least-squares slope of RSS over the samples after the first minute, bytes per minute. */
  slopePerMinute: number | null;
  /** RSS at the first sample after one minute, and at the last sample. */
  afterOneMinute: number | null;
  atEnd: number | null;
}

const SAMPLE_MS = 10_000;

export function rssSlopePerMinute(samples: SteadySample[]): number | null {
  const s = samples.filter((x) => x.at >= 60);
  if (s.length < 3) return null;
  const mx = s.reduce((a, x) => a + x.at, 0) / s.length;
  const my = s.reduce((a, x) => a + x.rssBytes, 0) / s.length;
  const cov = s.reduce((a, x) => a + (x.at - mx) * (x.rssBytes - my), 0);
  const varx = s.reduce((a, x) => a + (x.at - mx) ** 2, 0);
  return varx > 0 ? (cov / varx) * 60 : null;
}

export async function steadyRun(name: ServerName, rate: number, seconds: number, cpus: { server: number; load: number }, log: (s: string) => void): Promise<SteadyResult> {
  const server = await startServer(name, cpus.server);
  try {
    const callee = await startCallee(server, cpus.load, `${name} steady`);
    try {
      await warmUp(server, cpus.load, 'calls');
      const planned = Math.round(rate * seconds);
      const t0 = Date.now();
      const run = await startCallers({ label: `${name} steady ${rate}cps`, remotePort: server.port, rate, seconds, cpu: cpus.load, graceMs: 60_000 });
      const samples: SteadySample[] = [];
      let finished = false;
      void run.done.then(() => (finished = true));
      while (!finished && Date.now() - t0 < seconds * 1000) {
        await Promise.race([sleep(SAMPLE_MS), run.done]);
        if (finished) break;
        const m = await server.memory();
        const tx = await server.transactions().catch(() => null);
        const at = Math.round((Date.now() - t0) / 1000);
        // Every sixth sample (once a minute): the held heap, read after RSS (its collection changes RSS), and a log line.
        const minute = (samples.length + 1) % 6 === 0;
        const held = minute ? (await server.memoryHeld()).heapUsedBytes : undefined;
        samples.push({ at, rssBytes: m.rssBytes, transactions: tx, ...(held !== undefined ? { heapAfterGcBytes: held } : {}) });
        if (minute) log(`  ${name}: ${at} s, RSS ${(m.rssBytes / 2 ** 20).toFixed(1)} MiB, ${tx ?? '?'} transactions`);
      }
      const res = await run.done;
      const after = samples.find((x) => x.at >= 60);
      return {
        server: name,
        rate,
        seconds,
        planned,
        successful: num(res.last, 'SuccessfulCall(C)'),
        failures: failureCounts(res),
        samples,
        slopePerMinute: rssSlopePerMinute(samples),
        afterOneMinute: after?.rssBytes ?? null,
        atEnd: samples[samples.length - 1]?.rssBytes ?? null,
      };
    } finally {
      await callee.stop();
    }
  } finally {
    await server.stop();
  }
}
