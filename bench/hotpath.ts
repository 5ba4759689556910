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
import { Supervisor, type Transport } from '../src/actors/supervisor.js';
import { LocalIdentity } from '../src/proxy/localIdentity.js';
import { tuneHeap } from '../src/util/heapTuning.js';
import { Session } from 'node:inspector';
import { takeEngineArg } from './options.js';
import { allocationByOwner, type HeapProfileNode } from './profileParts.js';

const PROXY = { host: '127.0.0.1', port: 5060 };
const CALLER = { host: '127.0.0.1', port: 6000 };
const CALLEE = { host: '127.0.0.1', port: 6001 };

/** Header lines of `text` whose name is in `names` (lower case), in order. */
function headerLines(text: string, names: string[]): string[] {
  const head = text.slice(0, text.indexOf('\r\n\r\n'));
  return head.split('\r\n').slice(1).filter((l) => names.includes(l.slice(0, l.indexOf(':')).trim().toLowerCase()));
}

/** A response to the request `text`, as its UAS would build it (§8.2.6). */
function answer(text: string, status: string, toTag: string | null, extra: string[] = []): Buffer {
  const lines = headerLines(text, ['via', 'from', 'to', 'call-id', 'cseq', 'record-route']).map((l) =>
    toTag && /^to\s*:/i.test(l) && !/;tag=/.test(l) ? `${l};tag=${toTag}` : l,
  );
  return Buffer.from(`SIP/2.0 ${status}\r\n${[...lines, ...extra, 'Content-Length: 0'].join('\r\n')}\r\n\r\n`);
}

class Wire implements Transport {
  readonly out: Array<{ text: string; port: number }> = [];
  send(data: Buffer, _host: string, port: number): void {
    this.out.push({ text: data.toString('latin1'), port });
  }
  take(port: number, startsWith: string): string {
    const i = this.out.findIndex((m) => m.port === port && m.text.startsWith(startsWith));
    if (i < 0) throw new Error(`nothing starting with "${startsWith}" reached port ${port}: ${this.out.map((m) => `${m.port} ${m.text.split('\r\n')[0]}`).join(' | ')}`);
    return this.out.splice(i, 1)[0]!.text;
  }
}

function request(method: string, uri: string, n: number, branch: string, cseq: number, extra: string[], toTag: string | null): Buffer {
  return Buffer.from(
    [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${CALLER.host}:${CALLER.port};branch=z9hG4bK-${branch}-${n};rport`,
      `From: <sip:caller@${PROXY.host}>;tag=c${n}`,
      `To: <sip:callee@${PROXY.host}>${toTag ? `;tag=${toTag}` : ''}`,
      `Call-ID: call-${n}@${CALLER.host}`,
      `CSeq: ${cseq} ${method}`,
      'Max-Forwards: 70',
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

function oneCall(sup: Supervisor, wire: Wire, n: number): void {
  sup.receive(request('INVITE', `sip:callee@${PROXY.host}`, n, 'inv', 1, [`Contact: <sip:caller@${CALLER.host}:${CALLER.port}>`], null), CALLER);
  wire.take(CALLER.port, 'SIP/2.0 100');
  const inv = wire.take(CALLEE.port, 'INVITE');
  const calleeContact = `Contact: <sip:callee@${CALLEE.host}:${CALLEE.port}>`;
  sup.receive(answer(inv, '100 Trying', null), CALLEE);
  sup.receive(answer(inv, '180 Ringing', `e${n}`, [calleeContact]), CALLEE);
  wire.take(CALLER.port, 'SIP/2.0 180');
  sup.receive(answer(inv, '200 OK', `e${n}`, [calleeContact]), CALLEE);
  const ok = wire.take(CALLER.port, 'SIP/2.0 200');
  // The caller's route set is the Record-Route of the 2xx (§12.1.2): here, the proxy alone.
  const route = headerLines(ok, ['record-route']).map((l) => l.replace(/^record-route/i, 'Route'));
  const dialogUri = `sip:callee@${CALLEE.host}:${CALLEE.port}`;
  sup.receive(request('ACK', dialogUri, n, 'ack', 1, route, `e${n}`), CALLER);
  wire.take(CALLEE.port, 'ACK');
  sup.receive(request('BYE', dialogUri, n, 'bye', 2, route, `e${n}`), CALLER);
  const bye = wire.take(CALLEE.port, 'BYE');
  sup.receive(answer(bye, '200 OK', null), CALLEE);
  wire.take(CALLER.port, 'SIP/2.0 200');
  wire.out.length = 0;
}

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
  const wire = new Wire();
  const engine = takeEngineArg(argv);
  const sup = new Supervisor(wire, { identity: new LocalIdentity({ host: PROXY.host, port: PROXY.port }), engine });
  sup.receive(
    Buffer.from(
      [
        `REGISTER sip:${PROXY.host} SIP/2.0`,
        `Via: SIP/2.0/UDP ${CALLEE.host}:${CALLEE.port};branch=z9hG4bK-reg`,
        `From: <sip:callee@${PROXY.host}>;tag=r`,
        `To: <sip:callee@${PROXY.host}>`,
        'Call-ID: reg@bench',
        'CSeq: 1 REGISTER',
        `Contact: <sip:callee@${CALLEE.host}:${CALLEE.port}>`,
        'Expires: 3600',
        'Max-Forwards: 70',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    ),
    CALLEE,
  );
  wire.take(CALLEE.port, 'SIP/2.0 200');
  // The heap before any call (modules, the supervisor, one binding): not counted per call below.
  const gcFirst = (globalThis as { gc?: () => void }).gc;
  gcFirst?.();
  const before = process.memoryUsage();
  // Three rounds after a warm-up (the JIT), the best one reported: the others are noise.
  let n = 0;
  for (; n < Math.min(2000, calls); n++) oneCall(sup, wire, n);
  const sampler = argv.includes('--alloc-by-owner') ? allocationSampler() : null;
  let us = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    for (const end = n + calls; n < end; n++) oneCall(sup, wire, n);
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
