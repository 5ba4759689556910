/**
 * The cores run (`npm run bench:cores`): the call-rate steps of bench/callRate.ts for sipstate as
 * one process on one core, then as `--workers N` on several cores, in the same run. The speed-up
 * is the ratio of their highest passing rates; the CPU per call at a step both passed shows
 * what the workers' extra hops cost (docs/design.md "Across cores").
 */
import { cpus } from 'node:os';
import { callRate, type CallResult } from './callRate.js';

export interface CoresResult {
  workers: number;
  /** The cores the workers may use (taskset -c list). */
  cpuList: string;
  single: CallResult;
  cluster: CallResult;
}

export async function coresRun(
  o: { workers: number; cpuList: string | null; rates: number[]; seconds: number },
  cpusOf: { server: number; load: number },
  log: (s: string) => void,
): Promise<CoresResult> {
  const cpuList = o.cpuList ?? `0-${cpus().length - 1}`;
  log(`  one process on core ${cpusOf.server}:`);
  const single = await callRate('sipstate', o.rates, o.seconds, cpusOf, log);
  log(`  --workers ${o.workers} on cores ${cpuList}:`);
  const cluster = await callRate('sipstate', o.rates, o.seconds, cpusOf, log, { workers: o.workers, cpuList });
  return { workers: o.workers, cpuList, single, cluster };
}
