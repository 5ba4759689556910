/**
 * `node dist/bench/nodeFloor.js [RATE] [SECONDS] [WORK_US,...]`: what a Node relay with no SIP
 * work at all shows as "time inside the proxy" under the bench's call load (BENCHMARKS.md,
 * finding 30). For each WORK_US, a fresh bench/floorRelay.ts on the server core relays SIPp's
 * calls (bench/sipp/uac.xml -> uas.xml) spending that many microseconds of busy work per
 * datagram; INVITE in -> INVITE out is read from a capture as bench/latency.ts reads it. SIPp
 * sends in bursts, so an INVITE waits for the datagrams ahead of it: the tail follows the work
 * per datagram.
 */
import { startCapture, wireLatencies } from './capture.js';
import { cleanupAll, installCleanup, makeTempDir, removeTempDir, spawnGroup } from './processes.js';
import { freeUdpPort, waitUdpBound } from './ports.js';
import { startCallee, startCallers } from './servers.js';
import { num } from './sipp.js';
import { summarize } from './percentiles.js';
import { FLOOR_RELAY } from './paths.js';

const SERVER_CPU = 0;
const LOAD_CPU = 1;
const WARMUP_SECONDS = 3;

interface FloorRow {
  workUs: number;
  calls: string;
  p50: number | null;
  p99: number | null;
  over1ms: number;
  cpuPerDatagramUs: number | null;
}

async function floorRun(rate: number, seconds: number, workUs: number): Promise<FloorRow> {
  const dir = makeTempDir('floor');
  const callee = await startCallee(null, LOAD_CPU, `floor ${workUs}us`);
  const relayPort = await freeUdpPort();
  const callerPort = await freeUdpPort();
  const relay = spawnGroup('floor relay', 'taskset', ['-c', String(SERVER_CPU), process.execPath, FLOOR_RELAY], {
    stdout: 'pipe',
    env: { ...process.env, RELAY_PORT: String(relayPort), CALLEE_PORT: String(callee.port), CALLER_PORT: String(callerPort), WORK_US: String(workUs) },
  });
  let out = '';
  relay.child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  // 'close' comes once its stdout is drained too ('exit' may come before the last line).
  const closed = new Promise((r) => relay.child.once('close', r));
  try {
    await waitUdpBound(relayPort, 5000, 'the floor relay', () => !relay.hasExited());
    // Both runs from the same caller port: the relay sends everything from the callee there.
    await (await startCallers({ label: 'floor warm-up', remotePort: relayPort, rate, seconds: WARMUP_SECONDS, cpu: LOAD_CPU, port: callerPort })).done;
    const cap = await startCapture(dir, [callerPort, relayPort], LOAD_CPU);
    const res = await (await startCallers({ label: 'floor', remotePort: relayPort, rate, seconds, cpu: LOAD_CPU, port: callerPort })).done;
    await cap.stop();
    const hop = wireLatencies(cap.file, callerPort, relayPort).hopInvite;
    const s = summarize(hop);
    await relay.stop();
    await closed;
    const stats = /\{.*\}/.exec(out);
    const counted = stats ? (JSON.parse(stats[0]) as { datagrams: number; cpuUs: number }) : null;
    return {
      workUs,
      calls: `${num(res.last, 'SuccessfulCall(C)')} / ${Math.round(rate * seconds)}`,
      p50: s.p50,
      p99: s.p99,
      over1ms: hop.length ? hop.filter((ms) => ms > 1).length / hop.length : 0,
      cpuPerDatagramUs: counted && counted.datagrams > 0 ? counted.cpuUs / counted.datagrams : null,
    };
  } finally {
    await relay.stop();
    await callee.stop();
    removeTempDir(dir);
  }
}

const ms = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(2)} ms`);

async function main(): Promise<void> {
  installCleanup((l) => console.error(l));
  const [rateArg, secondsArg, worksArg] = process.argv.slice(2);
  const rate = Number(rateArg ?? 1000);
  const seconds = Number(secondsArg ?? 20);
  const works = (worksArg ?? '0,10,20,30,40,50').split(',').map(Number);
  if (!(rate > 0) || !(seconds > 0) || works.some((w) => !(w >= 0))) throw new Error('usage: nodeFloor.js [RATE] [SECONDS] [WORK_US,...]');
  console.log(`Node relay, ${rate} calls/s for ${seconds} s, relay on core ${SERVER_CPU}, SIPp on core ${LOAD_CPU}`);
  console.log('| work per datagram | calls | relay CPU per datagram | INVITE inside p50 | p99 | INVITEs over 1 ms |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const w of works) {
    const r = await floorRun(rate, seconds, w);
    const cpu = r.cpuPerDatagramUs === null ? 'n/a' : `${r.cpuPerDatagramUs.toFixed(1)} µs`;
    console.log(`| ${w} µs | ${r.calls} | ${cpu} | ${ms(r.p50)} | ${ms(r.p99)} | ${(r.over1ms * 100).toFixed(2)} % |`);
  }
}

main()
  .catch((e: unknown) => {
    console.error((e as Error).message);
    process.exitCode = 1;
  })
  .finally(() => void cleanupAll());
