// The live half of `npm run fuzz`: run inside an isolated network namespace (only loopback, see
// fuzz/run.ts). Starts the real proxy, throws mutated and random datagrams at it over UDP, checks
// that it still answers OPTIONS, and samples its memory.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpus } from './corpus.js';
import { mutate, prng, randomDatagram } from './mutate.js';

const count = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 1);
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const PORT = 5060;
const ADMIN = 5099;

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-fuzz-'));
  const proxy = spawn(process.execPath, [MAIN, '--host', '127.0.0.1', '--port', String(PORT), '--admin-port', String(ADMIN),
    '--journal', path.join(dir, 'journal'), '--call-log', path.join(dir, 'log.txt'), '--rate-limit', '0', '--log-level', 'error',
    '--t1', '50', '--t2', '200', '--t4', '250',
    // e.g. FUZZ_PROXY_ARGS="--workers 2": the same datagrams through the cluster.
    ...(process.env.FUZZ_PROXY_ARGS ?? '').split(' ').filter(Boolean)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proxy.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  await new Promise((r) => setTimeout(r, 1500));
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(5999, '127.0.0.1', () => r()));
  let answers = 0;
  let lastProbeAnswer = -1;
  sock.on('message', (m) => {
    const text = m.toString('latin1');
    const n = /Call-ID: probe-(\d+)/.exec(text);
    if (text.startsWith('SIP/2.0 200') && n) lastProbeAnswer = Number(n[1]);
  });
  /** A probe OPTIONS, retried like a phone would (UDP may drop one under the flood). */
  const answered = async (n: number): Promise<boolean> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      await send(probe(n));
      await new Promise((r) => setTimeout(r, 200));
      if (lastProbeAnswer === n) return true;
    }
    return false;
  };
  const probe = (n: number) => Buffer.from([`OPTIONS sip:127.0.0.1:${PORT} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKprobe${n}`,
    'Max-Forwards: 70', 'From: <sip:probe@127.0.0.1>;tag=p', `To: <sip:127.0.0.1:${PORT}>`, `Call-ID: probe-${n}`, 'CSeq: 7 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'));
  const send = (b: Buffer) => new Promise<void>((r) => sock.send(b, PORT, '127.0.0.1', () => r()));
  const rnd = prng(seed);
  const samples: Array<[number, number]> = [];
  const started = Date.now();
  let probes = 0;
  for (let i = 0; i < count; i++) {
    const data = rnd() < 0.15 ? randomDatagram(rnd) : mutate(corpus(i & 0xffff, PORT)[Math.floor(rnd() * 14)]!, rnd);
    if (data.length > 0 && data.length < 65_000) await send(data);
    // Pace: let the proxy breathe every 200 datagrams (UDP has no back-pressure).
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
    if (i % 50_000 === 0) {
      probes++;
      if (await answered(i)) answers++;
      samples.push([i, rssKb(proxy.pid!)]);
      if (proxy.exitCode !== null) break;
    }
  }
  // Let every transaction run out its timers, then the proxy must still answer and hold nothing.
  await new Promise((r) => setTimeout(r, Number(process.env.FUZZ_SETTLE_MS ?? 15000)));
  probes++;
  if (await answered(count)) answers++;
  const status = await fetch(`http://127.0.0.1:${ADMIN}/status`).then((r) => r.json()).catch(() => null);
  samples.push([count, rssKb(proxy.pid!)]);
  const alive = proxy.exitCode === null;
  proxy.kill('SIGTERM');
  sock.close();
  rmSync(dir, { recursive: true, force: true });
  const seconds = (Date.now() - started) / 1000;
  const result = { count, seconds, rate: Math.round(count / seconds), alive, probes, answers, status, rssKb: samples, stderrTail: stderr.slice(-2000) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(alive && answers === probes && status?.internalErrors === 0 ? 0 : 1);
}

void main();
