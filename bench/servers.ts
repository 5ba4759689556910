/** Starting a server under test by name, and the callee every call goes to. */
import { startKamailio } from './kamailioServer.js';
import { startSipstate } from './sipstateServer.js';
import { registerContact } from './rawSip.js';
import { startSipp, num, type SippOptions, type SippRun } from './sipp.js';
import type { Server, ServerName, ServerOptions } from './server.js';

export function startServer(name: ServerName, cpu: number, sipstate: Omit<ServerOptions, 'cpu'> = {}): Promise<Server> {
  return name === 'sipstate' ? startSipstate({ cpu, ...sipstate }) : startKamailio({ cpu });
}

/** The user part the callers dial, registered with the callee SIPp's address as its contact. */
export const CALLEE = 'callee';

/**
 * Starts the callee SIPp (bench/sipp/uas.xml) on the load core and, when a server is given,
 * registers its address as the contact of sip:callee@127.0.0.1 with a raw REGISTER.
 */
export async function startCallee(server: Server | null, cpu: number, label: string): Promise<SippRun> {
  const uas = await startSipp({ label: `${label} callee`, scenario: 'uas.xml', cpu, waitBound: true, hardTimeoutMs: 30 * 60_000 });
  if (server) {
    try {
      await registerContact(server.port, CALLEE, uas.port);
    } catch (e) {
      await uas.stop();
      throw new Error(`${server.name}: the callee's REGISTER failed: ${(e as Error).message}\n${server.output()}`);
    }
  }
  return uas;
}

/**
 * The call load every phase uses: callers running bench/sipp/uac.xml (INVITE, 100/180, 200, ACK,
 * ~100 ms, BYE, 200) to CALLEE at `rate` calls/s for `seconds`, through the server at `remotePort`
 * (or straight at the callee). A run that cannot finish `graceMs` after its last call was offered is
 * stopped: at that point the server is overloaded and the step has failed.
 */
export function startCallers(o: { label: string; remotePort: number; rate: number; seconds: number; cpu: number; graceMs?: number } & Pick<SippOptions, 'rtt' | 'port'>): Promise<SippRun> {
  return startSipp({
    label: o.label,
    scenario: 'uac.xml',
    remotePort: o.remotePort,
    service: CALLEE,
    rate: o.rate,
    calls: Math.round(o.rate * o.seconds),
    limit: Math.max(1000, o.rate * 12),
    cpu: o.cpu,
    hardTimeoutMs: o.seconds * 1000 + (o.graceMs ?? 15_000),
    ...(o.rtt ? { rtt: true } : {}),
    ...(o.port !== undefined ? { port: o.port } : {}),
  });
}

/** Seconds of warm-up load before each measurement (--warmup-seconds; 0: none). */
let warmupSeconds = 2;
export function setWarmupSeconds(s: number): void {
  warmupSeconds = s;
}

/**
 * Warm-up: a few seconds of light load (200 calls or REGISTERs a second) on a freshly started
 * server before it is measured, given to both servers alike. V8 runs sipstate's code interpreted
 * until it is hot, and a cold start otherwise shows up as a burst of retransmissions in the first
 * second of every step. The callee must be registered first for 'calls'.
 */
export async function warmUp(server: Server, cpu: number, kind: 'calls' | 'registers'): Promise<void> {
  if (warmupSeconds <= 0) return;
  const rate = 200;
  const run = await startSipp({
    label: `${server.name} warm-up ${kind}`,
    scenario: kind === 'calls' ? 'uac.xml' : 'register.xml',
    remotePort: server.port,
    ...(kind === 'calls' ? { service: CALLEE } : {}),
    rate,
    calls: rate * warmupSeconds,
    limit: 2000,
    cpu,
    hardTimeoutMs: warmupSeconds * 1000 + 30_000,
  });
  const res = await run.done;
  const ok = num(res.last, 'SuccessfulCall(C)');
  if (ok < rate * warmupSeconds) throw new Error(`${server.name}: warm-up ${kind}: ${ok} of ${rate * warmupSeconds} succeeded\n${server.output()}`);
}
