/** The command line of `npm run bench` (node dist/bench/run.js [options]). */

import { machineEngine } from '../src/cli/args.js';
import { DEFAULT_ENGINE, type MachineEngine } from '../src/actors/leanInterpreter.js';

/** `--engine E` of the standalone bench tools (hotpath, machineCost, profile): taken out of argv. */
export function takeEngineArg(argv: string[]): MachineEngine {
  const i = argv.indexOf('--engine');
  return machineEngine(i < 0 ? undefined : argv.splice(i, 2)[1]);
}

export type Phase = 'register' | 'calls' | 'latency' | 'memory' | 'journal' | 'steady' | 'cores' | 'tail';
export const PHASES: Phase[] = ['register', 'calls', 'latency', 'memory', 'journal', 'steady', 'cores', 'tail'];
/** `npm run bench` without --phases: the steady run, the cores run and the tail run have their own commands (npm run bench:steady, bench:cores, bench:tail). */
export const DEFAULT_PHASES: Phase[] = ['register', 'calls', 'latency', 'memory', 'journal'];

export interface Options {
  quick: boolean;
  /** Seconds of load per call-rate step. */
  stepSeconds: number;
  /** Seconds of load per REGISTER-rate step. */
  registerSeconds: number;
  /** Seconds of load per latency run. */
  latencySeconds: number;
  /** Seconds of light load on each fresh server before it is measured. */
  warmupSeconds: number;
  /** The steady run (sipstate only): its length and rate (default: half its highest passing call rate). */
  steadySeconds: number;
  steadyRate: number | null;
  /** The cores run: sipstate --workers N on the cores in coresCpus (taskset list; null: all) against one process on serverCpu. */
  coresWorkers: number;
  coresCpus: string | null;
  coresRates: number[];
  callRates: number[];
  registerRates: number[];
  /** Calls/s of the latency runs (default: half of Kamailio's highest passing call rate). */
  latencyRate: number | null;
  /** Calls/s of the time-inside-the-proxy runs (the 1,000). */
  hopRate: number;
  /** The tail run: time inside the proxy at hopRate, captured for tailSeconds after tailLoadSeconds of the same load. */
  tailLoadSeconds: number;
  tailSeconds: number;
  /** Users registered and calls held for the memory figures. */
  memoryUsers: number;
  memoryCalls: number;
  /** Journal: events appended with fsync batch; at most this many / this long with fsync always; events of the recovered journal. */
  journalBatchEvents: number;
  journalAlwaysMaxEvents: number;
  journalAlwaysMaxMs: number;
  journalRecoverEvents: number;
  phases: Phase[];
  servers: Array<'sipstate' | 'kamailio'>;
  serverCpu: number;
  loadCpu: number;
  /** The sipstate CLI to run (default dist/src/cli/main.js), e.g. another build to compare. */
  sipstateMain: string | null;
  /** sipstate's --engine (who interprets its machines). */
  engine: MachineEngine;
  /** Write BENCHMARKS.md (default: yes, except with --quick). */
  write: boolean;
  help: boolean;
}

export const USAGE = `npm run bench -- [options]     (or: node dist/bench/run.js [options])

Benchmarks sipstate against Kamailio (bench/kamailio/kamailio.cfg) with SIPp on loopback:
REGISTER rate, call rate, INVITE latency, memory per binding and per call, and the journal.
Servers run on one core (taskset), SIPp on another. Writes BENCHMARKS.md (between its
<!-- bench:begin --> and <!-- bench:end --> markers) and prints a table.

  --quick                 a smoke run: a few seconds per step, fewer steps, smaller counts;
                          does not write BENCHMARKS.md unless --write is given
  --step-seconds N        seconds per call-rate step (default 20; quick 3)
  --register-seconds N    seconds per REGISTER-rate step (default 5; quick 2)
  --latency-seconds N     seconds per latency run (default 10; quick 3)
  --steady-seconds N      the steady run: sipstate at one rate, RSS every 10 s (default 300; quick 40)
  --steady-rate N         its calls/s (default: half of sipstate's highest passing call rate, or 300)
  --warmup-seconds N      light load (200/s) on each fresh server before it is measured,
                          both servers alike (default 2; 0: none)
  --call-rates A,B,...    call-rate steps, calls/s (default 2750,3500,4500,5500; past the last
                          while passing, lower if the first fails, then one step between
                          the highest pass and the lowest failure; at most 7 steps a server:
                          bench/rateSearch.ts)
  --register-rates A,...  REGISTER-rate steps, /s (default 5000,10000,15000,20000,30000,40000)
  --hop-rate N            calls/s of the time-inside-the-proxy runs (default 1000)
  --latency-rate N        calls/s of the latency runs (default: half of Kamailio's highest
                          passing call rate; 500 when Kamailio's was not measured)
  --memory-users N        users registered for the memory figure (default 10000; quick 2000)
  --memory-calls N        answered calls held open for the memory figure (default 10000; quick 2000)
  --recover-events N      events in the generated journal that recover() folds (default 1000000; quick 100000)
  --tail-load-seconds N   the tail run: seconds of --hop-rate load on a fresh server before the
                          capture starts (default 40; quick 10)
  --tail-seconds N        ... and seconds captured (default 60; quick 10)
  --phases LIST           any of register,calls,latency,memory,journal,steady,cores,tail (default:
                          all but steady, cores and tail; \`npm run bench:steady\` is --phases
                          steady, \`npm run bench:cores\` --phases cores and \`npm run bench:tail\`
                          --phases tail, each written to its own part of BENCHMARKS.md)
  --workers N             the cores run: sipstate --workers N (default 2) ...
  --workers-cpus LIST     ... on these cores (taskset -c list; default: all), against one
                          sipstate process on --server-cpu, call-rate steps of --cores-rates
  --cores-rates A,B,...   (default 2000,3000,4000,5000; searched as --call-rates)
  --servers LIST          sipstate,kamailio (default: both)
  --server-cpu N          core for the servers (default 0)
  --load-cpu N            core for SIPp (default 1)
  --sipstate-main FILE    the sipstate CLI to benchmark (default dist/src/cli/main.js), run with
                          this build's Node flags (src/util/heapTuning.ts: COMMAND_LINE_V8_FLAGS)
  --engine E              sipstate's --engine: xstate or lean (default ${DEFAULT_ENGINE}); a run with
                          another than the default writes a part of BENCHMARKS.md of its own
  --write / --no-write    write BENCHMARKS.md or not
  -h, --help              this text
`;

const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);
const numbers = (flag: string, v: string) =>
  list(v).map((x) => {
    const n = Number(x);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: "${x}" is not a positive number`);
    return n;
  });

export function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = {
    quick,
    stepSeconds: quick ? 3 : 20,
    registerSeconds: quick ? 2 : 5,
    latencySeconds: quick ? 3 : 10,
    warmupSeconds: 2,
    steadySeconds: quick ? 40 : 300,
    steadyRate: null,
    coresWorkers: 2,
    coresCpus: null,
    coresRates: quick ? [500, 1500] : [2000, 3000, 4000, 5000],
    callRates: quick ? [250, 1000, 2500, 4000] : [2750, 3500, 4500, 5500],
    registerRates: quick ? [1000, 5000, 20000, 40000] : [5000, 10000, 15000, 20000, 30000, 40000],
    latencyRate: null,
    hopRate: 1000,
    tailLoadSeconds: quick ? 10 : 40,
    tailSeconds: quick ? 10 : 60,
    memoryUsers: quick ? 2000 : 10000,
    memoryCalls: quick ? 2000 : 10000,
    journalBatchEvents: quick ? 50_000 : 200_000,
    journalAlwaysMaxEvents: quick ? 500 : 5000,
    journalAlwaysMaxMs: quick ? 1000 : 3000,
    journalRecoverEvents: quick ? 100_000 : 1_000_000,
    phases: [...DEFAULT_PHASES],
    servers: ['sipstate', 'kamailio'],
    serverCpu: 0,
    loadCpu: 1,
    sipstateMain: null,
    engine: DEFAULT_ENGINE,
    write: !quick,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const positive = () => numbers(flag, value())[0]!;
    const core = () => {
      const v = value();
      if (!/^\d+$/.test(v)) throw new Error(`${flag}: a core number (0, 1, ...), not "${v}"`);
      return Number(v);
    };
    switch (flag) {
      case '--quick':
        break;
      case '-h':
      case '--help':
        o.help = true;
        break;
      case '--step-seconds':
        o.stepSeconds = positive();
        break;
      case '--register-seconds':
        o.registerSeconds = positive();
        break;
      case '--latency-seconds':
        o.latencySeconds = positive();
        break;
      case '--steady-seconds':
        o.steadySeconds = positive();
        break;
      case '--steady-rate':
        o.steadyRate = positive();
        break;
      case '--warmup-seconds':
        o.warmupSeconds = Number(value());
        if (!Number.isInteger(o.warmupSeconds) || o.warmupSeconds < 0) throw new Error('--warmup-seconds needs a whole number of seconds');
        break;
      case '--call-rates':
        o.callRates = numbers(flag, value()).sort((x, y) => x - y);
        break;
      case '--register-rates':
        o.registerRates = numbers(flag, value()).sort((x, y) => x - y);
        break;
      case '--latency-rate':
        o.latencyRate = positive();
        break;
      case '--hop-rate':
        o.hopRate = positive();
        break;
      case '--tail-load-seconds':
        o.tailLoadSeconds = positive();
        break;
      case '--tail-seconds':
        o.tailSeconds = positive();
        break;
      case '--memory-users':
        o.memoryUsers = Math.round(positive());
        break;
      case '--memory-calls':
        o.memoryCalls = Math.round(positive());
        break;
      case '--recover-events':
        o.journalRecoverEvents = Math.round(positive());
        break;
      case '--phases': {
        const p = list(value());
        for (const x of p) if (!PHASES.includes(x as Phase)) throw new Error(`--phases: unknown phase "${x}" (${PHASES.join(', ')})`);
        o.phases = p as Phase[];
        break;
      }
      case '--servers': {
        const s = list(value());
        for (const x of s) if (x !== 'sipstate' && x !== 'kamailio') throw new Error(`--servers: unknown server "${x}"`);
        o.servers = s as Options['servers'];
        break;
      }
      case '--server-cpu':
        o.serverCpu = core();
        break;
      case '--load-cpu':
        o.loadCpu = core();
        break;
      case '--sipstate-main':
        o.sipstateMain = value();
        break;
      case '--engine':
        o.engine = machineEngine(value());
        break;
      case '--workers':
        o.coresWorkers = Math.round(positive());
        break;
      case '--workers-cpus':
        o.coresCpus = value();
        if (!/^\d+([-,]\d+)*$/.test(o.coresCpus)) throw new Error('--workers-cpus takes a taskset list, e.g. 0,1 or 0-3');
        break;
      case '--cores-rates':
        o.coresRates = numbers(flag, value()).sort((x, y) => x - y);
        break;
      case '--write':
        o.write = true;
        break;
      case '--no-write':
        o.write = false;
        break;
      default:
        throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  // One core each: SIPp on the server's core would measure the two fighting for it.
  if (o.serverCpu === o.loadCpu) throw new Error(`--server-cpu and --load-cpu are both ${o.serverCpu}: the servers and SIPp need a core each`);
  return o;
}
