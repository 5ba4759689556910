/**
 * `node dist/bench/hotpath.js [CALLS]`: the proxy's own cost per call, without sockets. A
 * Supervisor with a transport that only hands datagrams back to a scripted caller and callee
 * carries CALLS calls (INVITE, 100, 180, 200, ACK, BYE, 200 through location lookup and
 * Record-Route) one after the other, and prints µs per call. Run it under `node --cpu-prof` to
 * see where the time goes; it is the quick loop behind the profile findings in BENCHMARKS.md.
 * `--alloc-by-owner`: the measured rounds run under V8's sampling heap profiler (keeping what the
 * collections freed), and the bytes allocated are split by the part of the code that asked for
 * them (bench/profileParts.ts); the timing then counts the sampler too. `--engine lean`: the
 * machines run by the lean interpreter (src/actors/leanInterpreter.ts).
 */
import { Supervisor } from '../src/actors/supervisor.js';
import { LoopbackWire, SyntheticTraffic } from '../src/actors/syntheticTraffic.js';
import { LocalIdentity } from '../src/proxy/localIdentity.js';
import { tuneHeap } from '../src/util/heapTuning.js';
import { Session } from 'node:inspector';
import { takeEngineArg } from './options.js';
import { allocationByOwner, type HeapProfileNode } from './profileParts.js';

const PROXY = { host: '127.0.0.1', port: 5060 };
const CALLER = { host: '127.0.0.1', port: 6000 };
const CALLEE = { host: '127.0.0.1', port: 6001 };

/** V8's sampling heap profiler, on this process, through the inspector (synchronous for a Session). */
function allocationSampler(): { stop(): HeapProfileNode } {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): unknown => {
    let result: unknown;
    let error: Error | null = null;
    session.post(method, params ?? {}, (e, r) => {
      error = e;
      result = r;
    });
    if (error) throw error;
    return result;
  };
  post('HeapProfiler.enable');
  post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return {
    stop: () => {
      const r = post('HeapProfiler.stopSampling') as { profile: { head: HeapProfileNode } };
      session.disconnect();
      return r.profile.head;
    },
  };
}

function main(argv: string[]): void {
  // As the CLI does at start (src/cli/main.ts): this measures the proxy as it runs.
  tuneHeap();
  const calls = Number(argv.find((a) => /^\d+$/.test(a)) ?? 20000);
  const wire = new LoopbackWire();
  const engine = takeEngineArg(argv);
  const sup = new Supervisor(wire, { identity: new LocalIdentity({ host: PROXY.host, port: PROXY.port }), engine });
  const traffic = new SyntheticTraffic(sup, wire, PROXY, CALLER, CALLEE);
  traffic.register();
  // The heap before any call (modules, the supervisor, one binding): not counted per call below.
  const gcFirst = (globalThis as { gc?: () => void }).gc;
  gcFirst?.();
  const before = process.memoryUsage();
  // Three rounds after a warm-up (the JIT), the best one reported: the others are noise.
  let n = 0;
  for (; n < Math.min(2000, calls); n++) traffic.call(n);
  const sampler = argv.includes('--alloc-by-owner') ? allocationSampler() : null;
  let us = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    for (const end = n + calls; n < end; n++) traffic.call(n);
    us = Math.min(us, Number(process.hrtime.bigint() - t0) / 1000);
  }
  if (sampler) {
    const { bytes, owners } = allocationByOwner(sampler.stop());
    process.stdout.write(`allocated in the measured rounds: ${(bytes / (3 * calls) / 1024).toFixed(0)} KiB per call, by owner (the driver makes the datagrams):\n`);
    for (const [owner, share] of owners) process.stdout.write(`${(share * 100).toFixed(1).padStart(5)} %  ${owner}\n`);
  }
  // Every transaction still lingers (64*T1 has not passed): what one call holds in that phase.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const mem = process.memoryUsage();
  const heapPerCall = gc ? `; after GC per call: heap ${Math.round((mem.heapUsed - before.heapUsed) / n)} B, array buffers ${Math.round((mem.arrayBuffers - before.arrayBuffers) / n)} B (run with --expose-gc)` : '';
  const s = sup.stats();
  process.stdout.write(
    `${calls} calls x 3 rounds (${engine}), best: ${(us / calls).toFixed(1)} µs per call (${Math.round((calls / us) * 1e6)} calls/s on one core, no sockets); ` +
      `alive: ${s.serverTransactions} server / ${s.clientTransactions} client transactions, ${s.calls} calls; internal errors ${s.internalErrors}${heapPerCall}\n`,
  );
  sup.stop();
  process.exit(0);
}

main(process.argv.slice(2));
