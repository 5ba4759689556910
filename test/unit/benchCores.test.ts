import test from 'ava';
import { coresMarkdown, type Results } from '../../bench/report.js';
import { parseOptions } from '../../bench/options.js';
import type { CallStep } from '../../bench/callRate.js';
import { callResult as result, callStep as step } from '../helpers/benchSteps.js';

/** A cores run of one process and `--workers 2` on cores 0-1 with these steps. */
const coresResults = (single: CallStep[], cluster: CallStep[]): Results =>
  ({
    env: { date: 'D', cpuModel: 'CPU', cores: 2, node: 'v20', gitCommit: 'abc' },
    command: 'npm run bench:cores',
    options: parseOptions([]),
    cores: { workers: 2, cpuList: '0-1', single: result(single), cluster: result(cluster) },
    errors: [],
    seconds: 120,
  }) as unknown as Results;

test('the cores part of BENCHMARKS.md: the speed-up from the highest passing rates, CPU per call at the highest step both passed', (t) => {
  const md = coresMarkdown(
    coresResults(
      [step(1500, true, 15), step(1750, true, 17.5), step(2000, false, 20)],
      [step(1500, true, 21), step(1750, true, 24.5), step(2000, true, 28), step(2250, false, 30)],
    ),
  );
  t.regex(md, /one process 1,750 cps, `--workers 2` 2,000 cps: 1\.14 ×/);
  // 1,750 cps × 20 s = 35,000 calls: 17.5 s -> 500 µs, 24.5 s -> 700 µs.
  t.regex(md, /CPU per call at 1,750 cps, the highest step both passed: 500 µs in one process, 700 µs over the workers/);
  t.regex(md, /share a core with the load generator/);
  t.is(md.split('\n').filter((l) => /^\| (one process|--workers 2) \|/.test(l)).length, 7);
});

test('the cores part says when the workers passed every step: their rate and the speed-up are bounds', (t) => {
  const r = coresResults([step(3000, true, 15), step(4000, false, 20)], [step(3000, true, 21), step(4000, true, 28)]);
  t.regex(coresMarkdown(r), /one process 3,000 cps, `--workers 2` ≥ 4,000 cps \(all steps passed\): ≥ 1\.33 ×/);
});
