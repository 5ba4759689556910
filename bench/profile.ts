/**
 * `npm run bench:profile -- [RATE] [SECONDS]`: sipstate under `node --cpu-prof` with the bench's
 * call load (bench/sipp/uac.xml through location lookup, default 300 calls/s for 10 s), then the
 * functions with the most self time. The .cpuprofile is kept (its path is printed) for a flame
 * graph in Chrome DevTools or speedscope.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSipstate } from './sipstateServer.js';
import { startCallee, startCallers } from './servers.js';
import { num } from './sipp.js';
import { cleanupAll, installCleanup } from './processes.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Self time per function (name and file:line), as a share of all samples. */
export function topSelf(profile: CpuProfile, n: number): Array<{ share: number; name: string }> {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, c]) => ({ share: c / total, name }));
}

/** Self time by where the code lives: XState, other packages, our modules, Node itself, GC, idle. */
export function selfByPart(profile: CpuProfile): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  const parts = new Map<string, number>();
  for (const id of profile.samples) {
    const f = byId.get(id)!.callFrame;
    let part: string;
    if (/node_modules\/xstate\//.test(f.url)) part = 'xstate';
    else if (/node_modules\//.test(f.url)) part = `package ${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url)![1]}`;
    else if (/\/dist\/src\//.test(f.url)) part = `sipstate ${/\/dist\/src\/([^/]+)/.exec(f.url)![1]}`;
    else if (f.url.startsWith('node:')) part = 'node';
    else part = f.functionName.startsWith('(') ? f.functionName : `native ${f.functionName}`;
    parts.set(part, (parts.get(part) ?? 0) + 1);
  }
  return [...parts.entries()].sort((a, b) => b[1] - a[1]).map(([p, c]) => [p, c / profile.samples.length]);
}

async function main(argv: string[]): Promise<number> {
  const rate = Number(argv[0] ?? 300);
  const seconds = Number(argv[1] ?? 10);
  installCleanup((l) => process.stdout.write(`${l}\n`));
  const profDir = mkdtempSync(path.join(tmpdir(), 'sipstate-profile-'));
  const server = await startSipstate({ cpu: 0, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir] });
  const callee = await startCallee(server, 1, 'profile');
  const run = await startCallers({ label: 'profile caller', remotePort: server.port, rate, seconds, cpu: 1, graceMs: 45_000 });
  const res = await run.done;
  await callee.stop();
  await server.stop();
  process.stdout.write(`${num(res.last, 'SuccessfulCall(C)')} of ${rate * seconds} calls at ${rate} cps\n`);
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    process.stderr.write(`no profile written in ${profDir}\n`);
    return 1;
  }
  const profile = JSON.parse(readFileSync(path.join(profDir, file), 'utf8')) as CpuProfile;
  for (const r of topSelf(profile, 40)) process.stdout.write(`${(r.share * 100).toFixed(1).padStart(5)} %  ${r.name}\n`);
  process.stdout.write('self time by part:\n');
  for (const [part, share] of selfByPart(profile)) process.stdout.write(`${(share * 100).toFixed(1).padStart(5)} %  ${part}\n`);
  process.stdout.write(`profile: ${path.join(profDir, file)}\n`);
  return 0;
}

main(process.argv.slice(2))
  .then(async (code) => {
    await cleanupAll();
    process.exit(code);
  })
  .catch(async (e: Error) => {
    process.stderr.write(`profile: ${e.stack ?? e.message}\n`);
    await cleanupAll();
    process.exit(1);
  });
