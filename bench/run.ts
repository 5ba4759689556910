/**
 * `npm run bench`: sipstate against Kamailio under the same SIPp load, on loopback, servers on one
 * core and SIPp on the other. Phases: REGISTER rate, call rate, latency, memory, journal. Prints a
 * table and writes the generated part of BENCHMARKS.md. Everything it starts is stopped at the
 * end, on Ctrl-C and on errors; its temp dirs are removed.
 */
import { cpus } from 'node:os';
import { existsSync } from 'node:fs';
import { DEFAULT_PHASES, parseOptions, USAGE, type Options } from './options.js';
import { checkPrograms, describeMissing } from './prerequisites.js';
import { captureProblem } from './capture.js';
import { DEFAULT_ENGINE } from '../src/actors/leanInterpreter.js';
import { environment } from './environment.js';
import { cleanupAll, installCleanup } from './processes.js';
import { registerRate } from './registerRate.js';
import { callRate, callStep, describeCallStep } from './callRate.js';
import { latencyRun } from './latency.js';
import { memoryUse } from './memoryUse.js';
import { journalFigures } from './journal.js';
import { steadyRun } from './steady.js';
import { BENCH_MARKERS, coresMarkdown, CORES_MARKERS, engineMarkers, markdown, steadyMarkdown, STEADY_MARKERS, terminalTable, writeBenchmarks, type Results } from './report.js';
import { tailMarkdown, TAIL_MARKERS } from './tailReport.js';
import { coresRun } from './cores.js';
import { socketBufferSysctls } from './udpStats.js';
import { receiveBuffer, type ServerName } from './server.js';
import { setWarmupSeconds, startServer } from './servers.js';
import { setSipstateEngine, setSipstateMain, sipstateCommand, sipstateMain } from './sipstateServer.js';
import { kamailioCommand } from './kamailioServer.js';
import { BENCHMARKS_MD, SIPSTATE_MAIN } from './paths.js';

const t0 = Date.now();
const stamp = () => {
  const s = Math.round((Date.now() - t0) / 1000);
  return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`;
};
const log = (line: string) => process.stdout.write(`${line.startsWith('\n') ? '\n' : ''}${stamp()} ${line.replace(/^\n/, '')}\n`);

/** Commands shown in the report, with placeholders for the per-run ports and temp dirs. */
function shownCommands(o: Options): Partial<Record<ServerName, string>> {
  const show = (argv: string[]) =>
    argv
      .map((a) => a.replace(process.execPath, 'node').replace(SIPSTATE_MAIN, 'dist/src/cli/main.js').replace(/.*\/bench\/kamailio\//, 'bench/kamailio/'))
      .join(' ')
      .replace(/\/tmp\/sipstate-bench-[^/\s"]+/g, 'TMP');
  return {
    sipstate: show(sipstateCommand(0, 0, '/tmp/sipstate-bench-x', o.serverCpu)).replace('--port 0', '--port PORT').replace('--admin-port 0', '--admin-port PORT'),
    kamailio: show(kamailioCommand(0, '/tmp/sipstate-bench-x', o.serverCpu)).replace(':0 ', ':PORT '),
  };
}

/** A latency figure for the log, ms. */
const msText = (x: number | null | undefined) => x?.toFixed(3) ?? 'n/a';

async function main(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const check = checkPrograms();
  if (check.missing.length) {
    process.stderr.write(`${describeMissing(check)}\n`);
    return 1;
  }
  if (o.sipstateMain) setSipstateMain(o.sipstateMain);
  setSipstateEngine(o.engine);
  setWarmupSeconds(o.warmupSeconds);
  if (!existsSync(sipstateMain())) {
    process.stderr.write(`${sipstateMain()} is missing: build first (npx tsc -p tsconfig.json)\n`);
    return 1;
  }
  const ncpu = cpus().length;
  if (o.serverCpu >= ncpu || o.loadCpu >= ncpu) {
    process.stderr.write(`--server-cpu ${o.serverCpu} / --load-cpu ${o.loadCpu}: this machine has ${ncpu} cores\n`);
    return 1;
  }
  for (const p of check.optionalMissing) log(`note: ${p.name} not found (${p.purpose}; Debian package ${p.pkg}): that figure is skipped`);
  installCleanup((l) => process.stdout.write(`${l}\n`));
  if ('dumpcap' in check.found && (o.phases.includes('latency') || o.phases.includes('tail'))) {
    const problem = await captureProblem(o.loadCpu);
    if (problem) {
      log(`WARNING: ${problem}. The wire figures (time inside the proxy) are skipped.`);
      delete check.found['dumpcap'];
    }
  }

  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const env = environment();
  log(`sipstate ${env.sipstateVersion} vs ${env.kamailioVersion}, ${env.sippVersion}, node ${env.node}, ${env.cpuModel} x${env.cores}`);
  log(`servers on core ${o.serverCpu}, SIPp on core ${o.loadCpu}${o.quick ? '; --quick smoke run' : ''}`);
  const cpusOf = { server: o.serverCpu, load: o.loadCpu };
  const results: Results = {
    env,
    command,
    options: o,
    sysctls: socketBufferSysctls(),
    receiveBuffers: {},
    serverCommands: shownCommands(o),
    register: {},
    calls: {},
    sippCeiling: null,
    latency: [],
    latencyRate: null,
    hop: [],
    hopRate: null,
    memory: {},
    journal: null,
    steady: null,
    cores: null,
    tail: [],
    errors: [],
    seconds: 0,
  };
  const attempt = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (e) {
      const msg = `${what}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`;
      results.errors.push(msg);
      log(`ERROR ${msg}`);
    }
  };
  const want = (p: Options['phases'][number]) => o.phases.includes(p);

  // The effective receive buffer of each server's socket (what setsockopt got from the kernel).
  for (const name of o.servers) {
    await attempt(`${name} start`, async () => {
      const s = await startServer(name, o.serverCpu);
      results.receiveBuffers[name] = await receiveBuffer(s.port);
      await s.stop();
    });
  }

  if (want('register')) {
    log(`\nREGISTER rate: ${o.registerRates.join(', ')}/s, ${o.registerSeconds} s each`);
    for (const name of o.servers) await attempt(`REGISTER rate ${name}`, async () => void (results.register[name] = await registerRate(name, o.registerRates, o.registerSeconds, cpusOf, log)));
  }

  if (want('calls')) {
    log(`\ncall rate: ${o.callRates.join(', ')} cps, ${o.stepSeconds} s each`);
    for (const name of o.servers) await attempt(`call rate ${name}`, async () => void (results.calls[name] = await callRate(name, o.callRates, o.stepSeconds, cpusOf, log)));
    // Is the rate where Kamailio failed SIPp's limit too? The same load, caller straight to callee.
    const k = results.calls.kamailio;
    const failures = k?.steps.filter((s) => !s.ok).map((s) => s.rate) ?? [];
    const failedAt = failures.length ? Math.min(...failures) : undefined;
    if (failedAt !== undefined) {
      await attempt('SIPp ceiling', async () => {
        const step = await callStep('direct', failedAt, o.stepSeconds, cpusOf);
        results.sippCeiling = step;
        log(describeCallStep('direct', step));
      });
    }
  }

  if (want('latency')) {
    const kmax = results.calls.kamailio?.max ?? null;
    const rate = o.latencyRate ?? (kmax ? Math.round(kmax / 2) : 500);
    results.latencyRate = rate;
    log(`\nlatency at ${rate} cps${o.latencyRate ? '' : kmax ? " (half of Kamailio's highest passing call rate)" : " (Kamailio's call rate not measured: 500)"}, ${o.latencySeconds} s each`);
    const capture = 'dumpcap' in check.found;
    for (const target of [...o.servers, 'direct'] as const) {
      await attempt(`latency ${target}`, async () => {
        const l = await latencyRun(target, rate, o.latencySeconds, cpusOf, capture);
        results.latency.push(l);
        const w = l.wire;
        log(
          `  ${target}: ${l.successful}/${l.planned} calls; wire 180 p50 ${msText(w?.inv180.p50)} p99 ${msText(w?.inv180.p99)} ms, ` +
            `200 p50 ${msText(w?.inv200.p50)} p99 ${msText(w?.inv200.p99)} ms; ` +
            `${target !== 'direct' ? `inside the proxy INVITE p50 ${msText(w?.hopInvite.p50)} p99 ${msText(w?.hopInvite.p99)} ms; ` : ''}` +
            `SIPp rtd 180 p50 ${l.sipp.inv180.p50 ?? 'n/a'} p99 ${l.sipp.inv180.p99 ?? 'n/a'} ms, 200 p50 ${l.sipp.inv200.p50 ?? 'n/a'} p99 ${l.sipp.inv200.p99 ?? 'n/a'} ms` +
            `${l.wireNote ? ` (${l.wireNote})` : ''}`,
        );
      });
    }
    // Time inside the proxy at a fixed rate (packet in -> packet out, from the capture).
    if (capture && o.hopRate !== rate) {
      log(`\ntime inside the proxy at ${o.hopRate} cps, ${o.latencySeconds} s each`);
      results.hopRate = o.hopRate;
      for (const target of o.servers) {
        await attempt(`time inside ${target}`, async () => {
          const l = await latencyRun(target, o.hopRate, o.latencySeconds, cpusOf, capture);
          results.hop.push(l);
          const w = l.wire;
          log(`  ${target}: ${l.successful}/${l.planned} calls; INVITE p50 ${msText(w?.hopInvite.p50)} p99 ${msText(w?.hopInvite.p99)} ms, 200 p50 ${msText(w?.hop200.p50)} p99 ${msText(w?.hop200.p99)} ms`);
        });
      }
    }
  }

  if (want('memory')) {
    log(`\nmemory: ${o.memoryUsers} users registered, then ${o.memoryCalls} answered calls held open`);
    for (const name of o.servers) {
      // Rates the server sustains, from its own figures when measured.
      const regMax = results.register[name]?.max ?? null;
      const callMax = results.calls[name]?.max ?? null;
      const registerRateUsed = Math.max(200, Math.min(2000, regMax ? Math.floor(regMax / 2) : 1000));
      const callRateUsed = Math.max(50, Math.min(1000, callMax ?? 100));
      await attempt(`memory ${name}`, async () => {
        results.memory[name] = await memoryUse(
          name,
          { users: o.memoryUsers, registerRate: registerRateUsed, calls: o.memoryCalls, callRate: callRateUsed, settleCapMs: o.quick ? 40_000 : 45_000 },
          cpusOf,
          log,
        );
      });
    }
  }

  if (want('journal')) {
    log(`\njournal: ${o.journalBatchEvents} appends (batch), up to ${o.journalAlwaysMaxEvents} / ${o.journalAlwaysMaxMs / 1000} s (always), recover() of ${o.journalRecoverEvents} events`);
    await attempt('journal', async () => {
      const j = await journalFigures(
        { batchEvents: o.journalBatchEvents, alwaysMaxEvents: o.journalAlwaysMaxEvents, alwaysMaxMs: o.journalAlwaysMaxMs, recoverEvents: o.journalRecoverEvents },
        o.serverCpu,
      );
      results.journal = j;
      log(
        `  batch ${Math.round(j.batch.perSecond)} events/s, always ${Math.round(j.always.perSecond)} events/s, ` +
          `recover ${j.recover.events} events in ${j.recover.seconds.toFixed(2)} s (${Math.round(j.recover.eventsPerSecond)} events/s)`,
      );
    });
  }

  if (want('steady') && o.servers.includes('sipstate')) {
    const smax = results.calls.sipstate?.max ?? null;
    const rate = o.steadyRate ?? (smax ? Math.round(smax / 2) : 300);
    log(`\nsteady run: sipstate at ${rate} cps for ${o.steadySeconds} s, RSS every 10 s`);
    await attempt('steady run', async () => {
      const s = await steadyRun('sipstate', rate, o.steadySeconds, cpusOf, log);
      results.steady = s;
      log(`  ${s.successful}/${s.planned} calls; RSS ${s.afterOneMinute !== null ? (s.afterOneMinute / 2 ** 20).toFixed(1) : '?'} MiB after 1 min, ${s.atEnd !== null ? (s.atEnd / 2 ** 20).toFixed(1) : '?'} MiB at the end; slope ${s.slopePerMinute !== null ? (s.slopePerMinute / 2 ** 20).toFixed(2) : '?'} MiB/min`);
    });
  }

  if (want('cores')) {
    log(`\ncores: sipstate as one process, then --workers ${o.coresWorkers}; ${o.coresRates.join(', ')} cps, ${o.stepSeconds} s each`);
    await attempt('cores run', async () => {
      const c = await coresRun({ workers: o.coresWorkers, cpuList: o.coresCpus, rates: o.coresRates, seconds: o.stepSeconds }, cpusOf, log);
      results.cores = c;
      log(`  highest passing rate: one process ${c.single.max ?? 'none'} cps, --workers ${c.workers} ${c.cluster.max ?? 'none'} cps`);
    });
  }

  if (want('tail')) {
    log(`\ntail: time inside the proxy at ${o.hopRate} cps, captured for ${o.tailSeconds} s after ${o.tailLoadSeconds} s of that load`);
    if (!('dumpcap' in check.found)) results.errors.push('tail run: dumpcap is missing (Debian package wireshark-common) or may not capture here');
    else
      for (const target of o.servers) {
        await attempt(`tail ${target}`, async () => {
          const l = await latencyRun(target, o.hopRate, o.tailSeconds, cpusOf, true, o.tailLoadSeconds);
          results.tail.push(l);
          const h = l.wire?.hopInvite;
          log(`  ${target}: ${l.successful}/${l.planned} calls; INVITE p50 ${msText(h?.p50)} p95 ${msText(h?.p95)} p99 ${msText(h?.p99)} ms${l.wireNote ? ` (${l.wireNote})` : ''}`);
        });
      }
  }

  results.seconds = (Date.now() - t0) / 1000;
  process.stdout.write(`\n${terminalTable(results)}\n\n`);
  if (o.write) {
    // The steady, cores and tail runs each have their own part of the file; the other phases share the main part.
    if (o.phases.some((p) => DEFAULT_PHASES.includes(p))) {
      const markers = o.engine === DEFAULT_ENGINE ? BENCH_MARKERS : engineMarkers(o.engine);
      writeBenchmarks(BENCHMARKS_MD, markdown(results), markers, BENCH_MARKERS);
    }
    if (o.phases.includes('steady')) writeBenchmarks(BENCHMARKS_MD, steadyMarkdown(results), STEADY_MARKERS);
    if (o.phases.includes('cores')) writeBenchmarks(BENCHMARKS_MD, coresMarkdown(results), CORES_MARKERS);
    if (o.phases.includes('tail')) writeBenchmarks(BENCHMARKS_MD, tailMarkdown(results), TAIL_MARKERS);
    log(`wrote ${BENCHMARKS_MD}`);
  } else log(`BENCHMARKS.md not written (${o.quick ? '--quick' : '--no-write'}; --write to write it)`);
  log(`done in ${(results.seconds / 60).toFixed(1)} min${results.errors.length ? `, ${results.errors.length} error(s)` : ''}`);
  return results.errors.length ? 1 : 0;
}

main(process.argv.slice(2))
  .then(async (code) => {
    await cleanupAll();
    process.exit(code);
  })
  .catch(async (e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    await cleanupAll();
    process.exit(1);
  });
