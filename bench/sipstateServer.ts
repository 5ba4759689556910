/** sipstate under test: `node dist/src/cli/main.js` pinned to one core, journal in a temp dir, fsync batch. */
import { DEFAULT_ENGINE, type MachineEngine } from '../src/actors/leanInterpreter.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { spawnGroup, makeTempDir, removeTempDir } from './processes.js';
import { HOST, freeTcpPort, freeUdpPort, sleep, udpSocket } from './ports.js';
import { groupMemory } from './memory.js';
import { SIPSTATE_MAIN } from './paths.js';
import { COMMAND_LINE_V8_FLAGS } from '../src/util/heapTuning.js';
import { probe } from './rawSip.js';
import type { Server, ServerOptions } from './server.js';

interface Status {
  serverTransactions: number;
  clientTransactions: number;
  calls: number;
  bindings: number;
  [k: string]: number;
}

/** The CLI that is benchmarked (--sipstate-main overrides it). */
let mainPath = SIPSTATE_MAIN;
export function setSipstateMain(file: string): void {
  mainPath = path.resolve(file);
}
export function sipstateMain(): string {
  return mainPath;
}

/** Who runs its machines (--engine; the CLI's default needs no flag). */
let engine: MachineEngine = DEFAULT_ENGINE;
export function setSipstateEngine(e: MachineEngine): void {
  engine = e;
}

export function sipstateCommand(port: number, adminPort: number, dir: string, cpu: number | string, nodeArgs: string[] = [], workers = 1): string[] {
  return [
    // --expose-gc: GET /status?gc=1 then collects before it reports the heap (the memory figures).
    // --single-threaded-gc: on its one core, V8's four GC helper threads only take turns with the
    // event loop (measured: less CPU per call and a shorter tail; README, "Running on one core").
    // COMMAND_LINE_V8_FLAGS: what `npm start` passes too (src/util/heapTuning.ts).
    'taskset', '-c', String(cpu), process.execPath, '--expose-gc', '--single-threaded-gc', ...COMMAND_LINE_V8_FLAGS, ...nodeArgs, mainPath,
    '--host', HOST, '--port', String(port),
    '--journal', path.join(dir, 'journal'), '--call-log', path.join(dir, 'log.txt'),
    '--fsync', 'batch', '--log-level', 'warn', '--admin-port', String(adminPort),
    // The load comes from one address, as Kamailio's config (no pike) takes it: no flood ban.
    '--rate-limit', '0',
    ...(workers > 1 ? ['--workers', String(workers)] : []),
    ...(engine !== DEFAULT_ENGINE ? ['--engine', engine] : []),
  ];
}

export async function startSipstate(opts: ServerOptions): Promise<Server & { status(): Promise<Status> }> {
  if (!existsSync(mainPath)) throw new Error(`${mainPath} is missing: build first (npx tsc -p tsconfig.json)`);
  const dir = makeTempDir('sipstate');
  const port = await freeUdpPort();
  const adminPort = await freeTcpPort();
  const [cmd, ...args] = sipstateCommand(port, adminPort, dir, opts.cpuList ?? opts.cpu, opts.nodeArgs, opts.workers);
  const group = spawnGroup('sipstate', cmd!, args, { cwd: dir, stdout: 'pipe', stderr: 'pipe' });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 100_000) out = out.slice(-50_000);
  };
  group.child.stdout!.on('data', keep);
  group.child.stderr!.on('data', keep);
  const status = async (): Promise<Status> => {
    const res = await fetch(`http://${HOST}:${adminPort}/status`);
    return (await res.json()) as Status;
  };
  // Ready: the "listening on udp:" line (printed at log level info), or, at --log-level warn which
  // prints no such line, the bound socket and an answering admin endpoint.
  const adminUp = async () => {
    try {
      return (await fetch(`http://${HOST}:${adminPort}/status`)).ok;
    } catch {
      return false;
    }
  };
  try {
    const deadline = Date.now() + 15_000;
    while (!/listening on udp:/.test(out) && !(udpSocket(port) && (await adminUp()))) {
      if (group.hasExited()) throw new Error(`sipstate exited at start:\n${out}`);
      if (Date.now() > deadline) throw new Error(`sipstate did not come up on udp:${HOST}:${port} within 15 s:\n${out}`);
      await sleep(50);
    }
    await probe(port);
    // The proxy's start-up warm-up (README, "Warm-up") runs for a second or two once it listens;
    // every phase measures the proxy after it (a memory baseline taken during it would count the
    // warm-up's own transactions).
    const warmDeadline = Date.now() + 30_000;
    while (((await status()).warmingUp ?? 0) > 0) {
      if (Date.now() > warmDeadline) throw new Error(`sipstate still warming up after 30 s:\n${out}`);
      await sleep(100);
    }
  } catch (e) {
    // Nothing of a server that did not come up stays behind for the rest of the run.
    await group.stop();
    removeTempDir(dir);
    throw e;
  }
  return {
    name: 'sipstate',
    port,
    group,
    status,
    memory: async () => groupMemory(group.pid),
    memoryHeld: async () => {
      const res = await fetch(`http://${HOST}:${adminPort}/status?gc=1`);
      const s = (await res.json()) as Status;
      return { ...groupMemory(group.pid), heapUsedBytes: s.heapUsedBytes };
    },
    transactions: async () => {
      const s = await status();
      return s.serverTransactions + s.clientTransactions;
    },
    bindings: async () => (await status()).bindings,
    output: () => out,
    stop: async () => {
      await group.stop(5000);
      removeTempDir(dir);
    },
  };
}
