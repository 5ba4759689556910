import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { wireLatencies } from '../../bench/capture.js';
import { summarize } from '../../bench/percentiles.js';
import { offeredRate, passedRate, type Row } from '../../bench/sipp.js';
import { LoadWindowCpu } from '../../bench/loadWindowCpu.js';
import { BENCH_MARKERS, engineMarkers, writeBenchmarks } from '../../bench/report.js';

// ---- a classic pcap of Ethernet-framed IPv4/UDP datagrams, as dumpcap writes on Linux lo ----

interface Frame {
  ms: number;
  from: number;
  to: number;
  text: string;
}

function pcap(frames: Frame[], extra: Buffer[] = []): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0); // microsecond timestamps, little-endian
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const records = frames.map((f) => record(f.ms, udpFrame(f.from, f.to, f.text)));
  return Buffer.concat([head, ...records, ...extra.map((e) => record(99_000, e))]);
}

function record(ms: number, frame: Buffer): Buffer {
  const r = Buffer.alloc(16);
  const base = 1_795_000_000; // seconds; the fraction carries the test's milliseconds
  r.writeUInt32LE(base + Math.floor(ms / 1000), 0);
  r.writeUInt32LE(Math.round((ms % 1000) * 1000), 4);
  r.writeUInt32LE(frame.length, 8);
  r.writeUInt32LE(frame.length, 12);
  return Buffer.concat([r, frame]);
}

function udpFrame(from: number, to: number, text: string): Buffer {
  const payload = Buffer.from(text, 'latin1');
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip[9] = 17;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(from, 0);
  udp.writeUInt16BE(to, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([eth, ip, udp, payload]);
}

const CALLER = 5061;
const PROXY = 5070;
const CALLEE = 5080;
const sip = (first: string, callId: string, cseq: string) => `${first}\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nCall-ID: ${callId}\r\nCSeq: ${cseq}\r\n\r\n`;

test('wireLatencies: INVITE→180 and →200 at the caller, and each INVITE and 200 inside the proxy, first copies only', (t) => {
  const frames: Frame[] = [
    // Call a: its INVITE retransmitted (the second copy is not a new start), 180 and 200 via the proxy.
    { ms: 0, from: CALLER, to: PROXY, text: sip('INVITE sip:b@x SIP/2.0', 'a', '1 INVITE') },
    { ms: 0.3, from: PROXY, to: CALLEE, text: sip('INVITE sip:b@y SIP/2.0', 'a', '1 INVITE') },
    { ms: 0.5, from: CALLER, to: PROXY, text: sip('INVITE sip:b@x SIP/2.0', 'a', '1 INVITE') },
    { ms: 0.9, from: PROXY, to: CALLEE, text: sip('INVITE sip:b@y SIP/2.0', 'a', '1 INVITE') },
    { ms: 1.0, from: CALLEE, to: PROXY, text: sip('SIP/2.0 180 Ringing', 'a', '1 INVITE') },
    { ms: 1.2, from: PROXY, to: CALLER, text: sip('SIP/2.0 180 Ringing', 'a', '1 INVITE') },
    { ms: 2.0, from: CALLEE, to: PROXY, text: sip('SIP/2.0 200 OK', 'a', '1 INVITE') },
    { ms: 2.4, from: PROXY, to: CALLER, text: sip('SIP/2.0 200 OK', 'a', '1 INVITE') },
    { ms: 3.0, from: CALLEE, to: PROXY, text: sip('SIP/2.0 200 OK', 'a', '1 INVITE') },
    { ms: 3.1, from: PROXY, to: CALLER, text: sip('SIP/2.0 200 OK', 'a', '1 INVITE') },
    // Call b, with compact Call-ID: no 180; its BYE and the BYE's 200 count for nothing.
    { ms: 10, from: CALLER, to: PROXY, text: sip('INVITE sip:b@x SIP/2.0', 'b', '1 INVITE').replace('Call-ID:', 'i:') },
    { ms: 10.1, from: PROXY, to: CALLEE, text: sip('INVITE sip:b@y SIP/2.0', 'b', '1 INVITE').replace('Call-ID:', 'i:') },
    { ms: 15, from: CALLEE, to: PROXY, text: sip('SIP/2.0 200 OK', 'b', '1 INVITE') },
    { ms: 15.05, from: PROXY, to: CALLER, text: sip('SIP/2.0 200 OK', 'b', '1 INVITE') },
    { ms: 20, from: CALLER, to: PROXY, text: sip('BYE sip:b@y SIP/2.0', 'b', '2 BYE') },
    { ms: 21, from: PROXY, to: CALLER, text: sip('SIP/2.0 200 OK', 'b', '2 BYE') },
  ];
  // Not IPv4 (an ARP frame): skipped, not counted.
  const arp = Buffer.alloc(42);
  arp.writeUInt16BE(0x0806, 12);
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-pcap-'));
  try {
    const file = path.join(dir, 'c.pcap');
    writeFileSync(file, pcap(frames, [arp]));
    const w = wireLatencies(file, CALLER, PROXY);
    const near = (xs: number[], ys: number[]) => t.deepEqual(xs.map((x) => Math.round(x * 1000)), ys.map((y) => Math.round(y * 1000)));
    t.is(w.packets, frames.length);
    t.is(w.calls, 2);
    near(w.inv180, [1.2]);
    near(w.inv200, [2.4, 5.05]);
    near(w.hopInvite, [0.3, 0.1]);
    near(w.hop200, [0.4, 0.05]);
    // Without the proxy's port (SIPp to SIPp): no hop figures.
    t.deepEqual(wireLatencies(file, CALLER).hopInvite, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('summarize: nearest-rank percentiles', (t) => {
  const v = Array.from({ length: 200 }, (_, i) => 200 - i); // 1..200, unsorted
  t.deepEqual(summarize(v), { n: 200, p50: 100, p95: 190, p99: 198, max: 200 });
  t.deepEqual(summarize([7]), { n: 1, p50: 7, p95: 7, p99: 7, max: 7 });
  t.deepEqual(summarize([]), { n: 0, p50: null, p95: null, p99: null, max: null });
});

const row = (t: number, created: number): Row => ({ StartTime: `d\th\t1000.000`, CurrentTime: `d\th\t${(1000 + t).toFixed(3)}`, 'OutgoingCall(C)': String(created) });

test('offeredRate: calls created per second while SIPp was creating them; passedRate: a SIPp-limited step stands for what was offered', (t) => {
  // 1,000 planned at 100/s, created on time: rows every second.
  const onTime = Array.from({ length: 12 }, (_, i) => row(i, Math.min(1000, i * 100)));
  t.is(Math.round(offeredRate(onTime, 1000)!), 100);
  // SIPp fell behind: 60/s.
  const behind = Array.from({ length: 20 }, (_, i) => row(i, Math.min(1000, i * 60)));
  t.is(Math.round(offeredRate(behind, 1000)!), 60);
  t.is(offeredRate([row(0, 0)], 1000), null);

  t.is(passedRate({ rate: 2000, offered: 1990, sippLimited: false }), 2000);
  t.is(passedRate({ rate: 2000, offered: 1700.6, sippLimited: true }), 1700);
});

test('LoadWindowCpu: the share of a core while the load ran, not diluted by the idle time after it', async (t) => {
  // A process group that is busy for 600 ms, then idle: as a server that stopped getting load.
  const child = spawn(process.execPath, ['-e', "process.stdout.write('go'); const e=Date.now()+600; while (Date.now()<e); setTimeout(()=>{}, 3000)"], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    // The window opens once the child spins (its start-up may be slow on a busy machine).
    await new Promise((r) => child.stdout!.once('data', r));
    const window = new LoadWindowCpu(child.pid!, 500);
    const whole = new LoadWindowCpu(child.pid!, 60_000);
    await new Promise((r) => setTimeout(r, 1800));
    const w = window.share();
    const all = whole.share();
    // The child gets whatever share of a core the machine leaves it (ava runs tests side by side),
    // but it spins for the window's wall time and then idles: the window's share is about three
    // times the whole run's, whatever that share is.
    t.true(w > 0.05, `busy while the load ran: ${w}`);
    t.true(w > 1.8 * all, `the window's share ${w} against ${all} over the whole 1.8 s`);
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

test("writeBenchmarks: a run with another interpreter has its own part right after the main one, rewritten in place by the next such run", (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-bmd-'));
  try {
    const file = path.join(dir, 'BENCHMARKS.md');
    writeFileSync(file, `# t\n\n${BENCH_MARKERS.begin}\nmain\n${BENCH_MARKERS.end}\n\n## Against the targets\n\n## Profile findings\n\nx\n`);
    writeBenchmarks(file, 'lean one', engineMarkers('lean'), BENCH_MARKERS);
    writeBenchmarks(file, 'lean two', engineMarkers('lean'), BENCH_MARKERS);
    writeBenchmarks(file, 'main again');
    const text = readFileSync(file, 'utf8');
    t.is(
      text,
      `# t\n\n${BENCH_MARKERS.begin}\nmain again\n${BENCH_MARKERS.end}\n\n${engineMarkers('lean').begin}\nlean two\n${engineMarkers('lean').end}\n\n## Against the targets\n\n## Profile findings\n\nx\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
