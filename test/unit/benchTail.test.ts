import test from 'ava';
import type { Results } from '../../bench/report.js';
import { tailMarkdown } from '../../bench/tailReport.js';
import { parseOptions } from '../../bench/options.js';
import type { LatencyResult } from '../../bench/latency.js';
import { summarize } from '../../bench/percentiles.js';

/** A tail result whose INVITE hops are `hops` (ms). */
const run = (target: 'sipstate' | 'kamailio', hops: number[]): LatencyResult => ({
  target, rate: 1000, seconds: 60, loadBefore: 40, loadBeforeFailed: target === 'sipstate' ? 3 : 0, planned: 60_000, successful: 60_000, failed: 0, failures: {},
  sipp: { inv180: summarize([]), inv200: summarize([]) },
  wire: { inv180: summarize([]), inv200: summarize([]), hopInvite: summarize(hops), hop200: summarize([0.05]) },
  command: 'sipp',
});

test('the tail run: its options, and its part of BENCHMARKS.md with both servers\' p99 and their ratio', (t) => {
  const o = parseOptions(['--phases', 'tail', '--tail-load-seconds', '30', '--tail-seconds', '45']);
  t.deepEqual([o.phases, o.tailLoadSeconds, o.tailSeconds], [['tail'], 30, 45]);
  t.deepEqual([parseOptions([]).tailLoadSeconds, parseOptions([]).tailSeconds], [40, 60]);
  t.false(parseOptions([]).phases.includes('tail'), 'not part of npm run bench');

  // 100 INVITEs: 98 at 0.5 ms, one at 3 ms (the 99th by rank), one at 40 ms (the longest).
  const s = run('sipstate', [...Array<number>(98).fill(0.5), 3, 40]);
  const k = run('kamailio', Array<number>(100).fill(0.3));
  const r = {
    env: { date: 'D', cpuModel: 'CPU', cores: 2, node: 'v20', gitCommit: 'abc' },
    command: 'npm run bench:tail',
    options: o,
    tail: [s, k],
    errors: [],
    seconds: 240,
  } as unknown as Results;
  const md = tailMarkdown(r);
  t.regex(md, /after 30 s of that load, over the next 45 s: p99 3\.00 ms for sipstate, 0\.30 ms for Kamailio \(10\.0 ×\)/);
  t.regex(md, /^\| sipstate \| 60,000 \/ 60,000 \| 0\.50 ms \| 0\.50 ms \| 3\.00 ms \| 40\.0 ms \| 0\.05 ms \|$/m);
  t.regex(md, /^\| Kamailio \| 60,000 \/ 60,000 \| 0\.30 ms \|/m);
  t.regex(md, /\(3 of its calls failed for sipstate, 0 of its calls failed for Kamailio\)/, 'the load before the capture is accounted for');

  const failed = tailMarkdown({ ...r, tail: [], errors: ['tail sipstate: boom'] } as Results);
  t.regex(failed, /did not complete/);
  t.regex(failed, /- Error: tail sipstate: boom/);
});
