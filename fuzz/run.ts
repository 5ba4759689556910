// `npm run fuzz`: a long fuzz run. 1) In process: N mutated and random datagrams through the parser
// and the supervisor (nothing sent anywhere). 2) Live: the same against the real proxy over UDP,
// inside a network namespace that has only loopback, so whatever a mutant makes the proxy send
// cannot leave the machine's sandbox. Prints a summary and exits non-zero on any failure.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDatagram } from '../src/sip/parser.js';
import { Supervisor } from '../src/actors/supervisor.js';
import { LocalIdentity } from '../src/proxy/localIdentity.js';
import { Logger } from '../src/util/logger.js';
import { corpus } from './corpus.js';
import { mutate, prng, randomDatagram } from './mutate.js';

const count = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? 20261124);

async function inProcess(): Promise<{ ok: boolean; line: string }> {
  const sup = new Supervisor({ send: () => {} }, {
    identity: new LocalIdentity({ host: '127.0.0.1', port: 5060 }),
    timers: { t1: 10, t2: 40, t4: 50 },
    logger: new Logger('error'),
  });
  const rnd = prng(seed);
  let parsed = 0;
  let threw = 0;
  const heap: number[] = [];
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const data = rnd() < 0.15 ? randomDatagram(rnd) : mutate(corpus(i & 0xffff)[Math.floor(rnd() * 14)]!, rnd);
    const r = parseDatagram(data);
    if (r.ok) parsed++;
    else if (r.error.startsWith('unparseable')) threw++;
    sup.receive(data, { host: '127.0.0.1', port: 5999 });
    // Let the transactions' timers run, as they would between datagrams on a real socket.
    if (i % 1000 === 999) await new Promise((r) => setTimeout(r, 1));
    if (i % (count / 10) === 0) heap.push(Math.round(process.memoryUsage().heapUsed / 1e6));
  }
  const s = sup.stats();
  sup.stop();
  const secs = (Date.now() - t0) / 1000;
  const ok = threw === 0 && s.internalErrors === 0;
  return { ok, line: `in process: ${count} datagrams in ${secs.toFixed(1)} s (${Math.round(count / secs)}/s), ${parsed} parsed, parser exceptions ${threw}, supervisor internal errors ${s.internalErrors}, heap MB by tenths: ${heap.join(' ')}` };
}

function live(): { ok: boolean; line: string } {
  if (process.getuid?.() !== 0 || spawnSync('ip', ['netns', 'list']).status !== 0) {
    return { ok: true, line: 'live: skipped (needs root and `ip netns` to isolate the proxy)' };
  }
  const ns = `sipstate-fuzz-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    const liveJs = path.join(path.dirname(fileURLToPath(import.meta.url)), 'live.js');
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, liveJs, String(count), String(seed)], { encoding: 'utf8', timeout: 30 * 60_000 });
    const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    const rss = (res.rssKb as Array<[number, number]> | undefined)?.map(([i, kb]) => `${i}:${Math.round(kb / 1024)}MB`).join(' ');
    return {
      ok: r.status === 0,
      line: `live: ${res.count} datagrams over UDP in ${res.seconds?.toFixed(0)} s (${res.rate}/s); proxy alive: ${res.alive}; OPTIONS probes answered ${res.answers}/${res.probes}; internal errors ${res.status?.internalErrors}; left once settled: ${res.status ? `${res.status.serverTransactions} server / ${res.status.clientTransactions} client transactions, ${res.status.calls} calls, ${res.status.bindings} bindings` : '?'}; RSS by datagrams sent: ${rss}${r.status === 0 ? '' : `\n${res.stderrTail ?? r.stderr}`}`,
    };
  } finally {
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean).forEach((p) => spawnSync('kill', ['-9', p]));
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

const a = await inProcess();
process.stdout.write(`${a.line}\n`);
const b = live();
process.stdout.write(`${b.line}\n`);
process.exit(a.ok && b.ok ? 0 : 1);
