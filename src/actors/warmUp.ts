import { performance } from 'node:perf_hooks';
import { Supervisor, type SupervisorOptions } from './supervisor.js';
import { LocationService } from './locationService.js';
import { LoopbackWire, SyntheticTraffic } from './syntheticTraffic.js';
import { LocalIdentity } from '../proxy/localIdentity.js';
import { Logger } from '../util/logger.js';
import { ScratchJournal, type ScratchJournalOptions } from './warmUpJournal.js';

/**
 * Transaction timers of the warm-up: 64*T1 is 64 ms, so the lingering states (Timers J, K, L and
 * M) fall due within it, and their code is compiled too.
 */
const WARM_UP_TIMERS = { t1: 1, t2: 4, t4: 5 };
/**
 * How long the calls of one turn of the event loop may take: the warm-up runs while the proxy
 * serves, and a datagram that arrives meanwhile waits for the turn to end. A call takes about
 * 0.2 ms once compiled and a few before; on a core shared with busier processes its wall time
 * grows, so the turn is bounded by time, not by a count (with ten calls a turn, end-to-end tests
 * with a T1 of 100 ms failed on a loaded two-core machine; BENCHMARKS.md, finding 39).
 */
const TURN_MS = 2;
/** The pause after each turn's calls, in which the event loop is watched for real work. */
const PAUSE_MS = 2;
/**
 * The share of a pause the event loop may have been busy with real datagrams for the next calls
 * to run; above it (a flood, or a load near the core's limit) the warm-up waits: serving comes first.
 */
const BUSY_LIMIT = 0.5;
/**
 * A registration refresh every this many calls. V8 records the object shapes a function meets
 * only once it has run a few times; with a REGISTER only at the start, the optimized code was
 * blind to it, and the next one threw a dozen functions back to the interpreter (finding 39).
 */
const REGISTER_EVERY = 10;

export interface WarmUpResult {
  /** Calls that went through. */
  calls: number;
  ms: number;
  /** Why the warm-up stopped early (the proxy starts anyway); not set when `signal` stopped it. */
  error?: string;
}

/**
 * The JIT warm-up. V8 compiles a function with its optimizing compiler only after it has run a
 * while; in a new process the first seconds of load run in slower code, and the compiler threads
 * and the event loop share the core while datagrams wait (BENCHMARKS.md, findings 39 and 41).
 * Right after the proxy starts listening, `calls` scripted calls go through a throw-away
 * Supervisor of its own (its own location service, no guard, no sockets; with `journal`, a
 * scratch journal and log.txt in a temporary directory), a few at a time between the real
 * datagrams, so that the parser, the machines, the interpreter that runs them and the journal's
 * path are compiled within a second or two rather than under the first minute of load. What the
 * real proxy serves is not touched: nothing of the warm-up reaches its journal, log.txt or counts.
 *
 * `same`: the options of the real supervisor that change the code a message takes (the engine,
 * the reason-phrase rewriter, the scanner filter). `journal`: how the proxy journals (a process
 * that journals nothing itself, a cluster worker, leaves it out). `signal`: stops it between two turns.
 */
export async function warmUp(
  calls: number,
  same: Pick<SupervisorOptions, 'engine' | 'isScanner' | 'rewriteResponse'>,
  signal?: AbortSignal,
  journal?: ScratchJournalOptions,
): Promise<WarmUpResult> {
  const t0 = performance.now();
  const proxy = { host: '127.0.0.1', port: 5060 };
  const wire = new LoopbackWire();
  const scratch = journal ? ScratchJournal.open(journal) : null;
  // Its REGISTERs journal their bindings too: the journal's first real event is a softphone's
  // binding, and code compiled on call events alone was thrown away there (finding 41).
  const location = new LocationService(scratch?.onBinding);
  const sup = new Supervisor(wire, {
    ...same,
    identity: new LocalIdentity(proxy),
    timers: WARM_UP_TIMERS,
    location,
    logger: new Logger('error'),
    ...(scratch ? { onLifecycle: scratch.onLifecycle } : {}),
  });
  const traffic = new SyntheticTraffic(sup, wire, proxy, { host: '127.0.0.1', port: 5061 }, { host: '127.0.0.1', port: 5062 });
  let done = 0;
  let error: string | undefined;
  try {
    traffic.register();
    const run = async (until: number) => {
      while (done < until && !signal?.aborted) {
        const turnEnd = performance.now() + TURN_MS;
        do {
          traffic.call(done);
          if (done % REGISTER_EVERY === 0) traffic.register(done + 1);
          done++;
        } while (done < until && performance.now() < turnEnd);
        await quietTurn(signal);
      }
    };
    // The rest of the proxy's start-up and the first datagrams go first. Then most calls; then
    // every lingering transaction ends (64*T1) and its code is compiled; then the rest, so that
    // what the ends changed is optimized again.
    await quietTurn(signal);
    await run(Math.ceil(calls * 0.9));
    await turn(64 * WARM_UP_TIMERS.t1 + 20);
    await run(calls);
  } catch (e) {
    error = (e as Error).message;
  } finally {
    sup.stop();
    location.close();
    scratch?.close();
  }
  return { calls: done, ms: performance.now() - t0, ...(error !== undefined ? { error } : {}) };
}

function turn(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Pauses until a pause passes in which the event loop was busy less than BUSY_LIMIT of the time (or it is stopped). */
async function quietTurn(signal: AbortSignal | undefined): Promise<void> {
  while (!signal?.aborted) {
    const start = performance.eventLoopUtilization();
    await turn(PAUSE_MS);
    if (performance.eventLoopUtilization(start).utilization <= BUSY_LIMIT) return;
  }
}
