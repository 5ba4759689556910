import test from 'ava';
import { steadyMarkdown, type Results } from '../../bench/report.js';
import { parseOptions } from '../../bench/options.js';
import { rssSlopePerMinute, type SteadySample } from '../../bench/steady.js';

const MiB = 2 ** 20;

test('the steady part of BENCHMARKS.md: the RSS slope, and the RSS range after the first minute next to it', (t) => {
  // A saw-tooth after the first minute: 150, 250, 150, 250 MiB.
  const samples: SteadySample[] = [30, 60, 90, 120, 150].map((at, i) => ({ at, rssBytes: [120, 150, 250, 150, 250][i]! * MiB, transactions: 30_000 }));
  const r = {
    env: { date: 'D', cpuModel: 'CPU', cores: 2, node: 'v20', gitCommit: 'abc' },
    command: 'npm run bench:steady',
    options: parseOptions([]),
    steady: { server: 'sipstate', rate: 300, seconds: 150, planned: 45_000, successful: 45_000, failures: {}, samples, slopePerMinute: rssSlopePerMinute(samples), afterOneMinute: 150 * MiB, atEnd: 250 * MiB },
    errors: [],
    seconds: 160,
  } as unknown as Results;
  // Least squares over 60-150 s (the first minute left out): 40 MiB a minute; under three samples, none.
  t.is(Math.round(rssSlopePerMinute(samples)! / MiB), 40);
  t.is(rssSlopePerMinute(samples.slice(0, 3)), null);
  const md = steadyMarkdown(r);
  t.regex(md, /150\.0 MiB at one minute, 250\.0 MiB at the end; 150\.0 MiB–250\.0 MiB after the first minute\)/);
  t.regex(md, /the heap after a full GC is what tells a leak/);
});
