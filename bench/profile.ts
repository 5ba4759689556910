/**
 * `npm run bench:profile -- [RATE] [SECONDS] [--engine lean]`: sipstate under `node --cpu-prof`
 * with the bench's call load (bench/sipp/uac.xml through location lookup, default 300 calls/s for
 * 10 s), then the functions with the most self time. The .cpuprofile is kept (its path is
 * printed) for a flame graph in Chrome DevTools or speedscope. `-- --file F.cpuprofile` reads a
 * profile already written, such as the in-process hot path's:
 * `node --cpu-prof --cpu-prof-dir=DIR dist/bench/hotpath.js`.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setSipstateEngine, startSipstate } from './sipstateServer.js';
import { takeEngineArg } from './options.js';
import { startCallee, startCallers } from './servers.js';
import { num } from './sipp.js';
import { cleanupAll, installCleanup } from './processes.js';
import { selfByPart, timeByOwner, topSelf, type CpuProfile } from './profileParts.js';

/** The functions with the most self time, then the time by part and by owner. */
function report(profile: CpuProfile): void {
  const line = (share: number, what: string) => process.stdout.write(`${(share * 100).toFixed(1).padStart(5)} %  ${what}\n`);
  for (const r of topSelf(profile, 40)) line(r.share, r.name);
  process.stdout.write('self time by part:\n');
  for (const [part, share] of selfByPart(profile)) line(share, part);
  process.stdout.write('time by owner (built-ins and Node functions count for the part that called them):\n');
  for (const [owner, share] of timeByOwner(profile)) line(share, owner);
}

async function main(argv: string[]): Promise<number> {
  // --file F: only read a profile already written (e.g. by `node --cpu-prof dist/bench/hotpath.js`).
  if (argv[0] === '--file') {
    if (!argv[1]) throw new Error('--file needs a .cpuprofile');
    report(JSON.parse(readFileSync(argv[1], 'utf8')) as CpuProfile);
    return 0;
  }
  // --engine lean: sipstate's machines run by the lean interpreter.
  setSipstateEngine(takeEngineArg(argv));
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
  report(JSON.parse(readFileSync(path.join(profDir, file), 'utf8')) as CpuProfile);
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
