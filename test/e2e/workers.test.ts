// `--workers N` (docs/design.md "Across cores"): worker processes sharing the UDP port, each
// owning the calls whose Call-ID hashes to it, the primary writing the one journal. Real SIPp
// callers and callee over loopback against the real proxy process.
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAIN } from '../helpers/proxy.js';
import { assertIdle, assertOk, callee, caller, exited, newCallId, proxyFor, registerContact, tail, waitForBindings, workspace } from '../helpers/flows.js';
import { UdpClient } from '../helpers/udpClient.js';
import { callIdTextHash } from '../../src/cluster/callIdOwner.js';

// The benchmark's caller and callee: any number of calls, each with its own Call-ID.
const BENCH_SIPP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bench/sipp');
const UAC = path.join(BENCH_SIPP, 'uac.xml');
const UAS = path.join(BENCH_SIPP, 'uas.xml');

interface WorkerStatus {
  worker: number;
  pid: number;
  received: number;
  forwarded: number;
  bindings: number;
  calls: number;
}

async function workersOf(proxy: Awaited<ReturnType<typeof proxyFor>>): Promise<WorkerStatus[]> {
  return (await proxy.status()).workers as unknown as WorkerStatus[];
}

test('--workers 2: calls spread over both workers all complete; the callee registered through one is found by both; log.txt and replay agree', async (t) => {
  const { dir, journal, callLog } = workspace(t, 'workers');
  const proxy = await proxyFor(t, ['--workers', '2', '--fsync', 'always'], { journal, callLog, timeoutMs: 90_000 });
  t.regex(proxy.output(), /with 2 workers/);

  const calls = 40;
  const bob = await callee(t, proxy, { scenario: UAS, calls, timeoutMs: 40_000, label: 'callee' });
  // A REGISTER with a Call-ID of its own: one worker applies it, the other gets the binding from the primary.
  await registerContact(proxy, 'callee', bob.port);
  await waitForBindings(proxy, 1, [bob]);
  const a = await caller(proxy, { scenario: UAC, service: 'callee', calls, args: ['-r', '20'], timeoutMs: 30_000, label: 'callers' });
  assertOk(t, a, proxy);
  assertOk(t, await bob.done, proxy);

  const workers = await workersOf(proxy);
  t.is(workers.length, 2);
  for (const w of workers) {
    t.true(w.received > calls, `worker ${w.worker} handled only ${w.received} messages: ${JSON.stringify(workers)}`);
    t.true(w.forwarded > 0, `worker ${w.worker} passed nothing on: ${JSON.stringify(workers)}`);
    t.is(w.bindings, 1, `worker ${w.worker}'s copy of the location service`);
  }
  await assertIdle(t, proxy);
  t.is(await proxy.stop(), 0, tail(proxy.output()));

  const log = readFileSync(callLog, 'utf8');
  t.is(log.match(/^-----$/gm)?.length, calls, log);
  t.is(log.match(/^start: \d\d:\d\d:\d\d$/gm)?.length, calls);
  t.is(log.match(/^end: \d\d:\d\d:\d\d$/gm)?.length, calls);
  const replayed = path.join(dir, 'replayed.txt');
  execFileSync(process.execPath, [MAIN, 'replay', '--journal', journal, '--call-log', replayed], { timeout: 30_000 });
  t.is(readFileSync(replayed, 'utf8'), log, 'replay rebuilt log.txt byte for byte');
});

/**
 * SIGKILLs the workers `which` and waits (up to 15 s) until /status shows each with a new pid;
 * returns the last status read, whether or not they came back.
 */
async function killWorkers(proxy: Awaited<ReturnType<typeof proxyFor>>, before: WorkerStatus[], which: number[]): Promise<WorkerStatus[]> {
  for (const w of which) process.kill(before[w]!.pid, 'SIGKILL');
  const deadline = Date.now() + 15_000;
  let after = before;
  while (Date.now() < deadline && !exited(proxy)) {
    try {
      after = await workersOf(proxy);
      // A new worker answers /status from the moment it is up, before the primary's start message
      // (the location table) reaches it: wait for the table as well.
      if (after.length === before.length && which.every((w) => after[w]!.pid !== before[w]!.pid && after[w]!.bindings === before[w]!.bindings)) break;
    } catch {
      /* asked while a worker came up */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return after;
}

/** A Call-ID that worker `w` of 2 owns (src/cluster/callIdOwner.ts). */
function ownedBy(w: number, name: string): string {
  for (;;) {
    const id = newCallId(name);
    if (callIdTextHash(id) % 2 === w) return id;
  }
}

test('--workers 2: a worker killed with SIGKILL is forked again with the bindings, its ringing call waits for an answer and is journaled failed after Timer C, and calls through both go on', async (t) => {
  // Timer C of 4 s: the ringing call's new worker gives up on it during the test.
  const proxy = await proxyFor(t, ['--workers', '2', '--timer-c', '4000'], { timeoutMs: 90_000 });
  const calls = 20;
  const bob = await callee(t, proxy, { scenario: UAS, calls, timeoutMs: 40_000, label: 'callee' });
  await registerContact(proxy, 'callee', bob.port);
  // A call ringing in worker 0 when it dies: carol rings and never answers.
  const ringing = ownedBy(0, 'ringing');
  const carol = await callee(t, proxy, { scenario: 'callee-ring.xml', service: 'carol', callId: ringing, label: 'carol' });
  await waitForBindings(proxy, 2, [bob, carol]);
  const alice = await UdpClient.open();
  t.teardown(() => alice.close());
  await alice.send([
    `INVITE sip:carol@127.0.0.1:${proxy.port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK-${ringing.slice(8, 16)};rport`,
    'Max-Forwards: 70',
    `From: <sip:alice@127.0.0.1>;tag=a1`,
    `To: <sip:carol@127.0.0.1>`,
    `Call-ID: ${ringing}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@127.0.0.1:${alice.port}>`,
    'Content-Length: 0',
    '', '',
  ].join('\r\n'), proxy.port);
  await alice.waitFor(/^SIP\/2\.0 180 /, 5000);
  const journalText = () => readdirSync(proxy.journal).map((f) => readFileSync(path.join(proxy.journal, f), 'utf8')).join('');
  const journaled = async (re: RegExp, what: string, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (!re.test(journalText())) {
      if (Date.now() > deadline) return t.fail(`${what} not journaled:\n${journalText().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    t.pass();
  };
  await journaled(new RegExp(`"call\\.ringing".*"${ringing}"`), 'call.ringing');

  const before = await workersOf(proxy);
  const after = await killWorkers(proxy, before, [0]);
  t.not(after[0]!.pid, before[0]!.pid, `worker 0 was not started again:\n${tail(proxy.output())}`);
  t.is(after[0]!.bindings, 2, 'the new worker got the location table');
  t.regex(proxy.output(), /worker 0 \(pid \d+\) ended \(SIGKILL\)/);
  // Carol may still answer: the call is open again in the new worker, not failed at once.
  const failed = new RegExp(`"call\\.failed".*"${ringing}".*"worker restarted"`);
  t.is(after[0]!.calls, 1, 'the ringing call is open again in the new worker');
  t.notRegex(journalText(), failed, 'not failed at once');

  const a = await caller(proxy, { scenario: UAC, service: 'callee', calls, args: ['-r', '20'], timeoutMs: 30_000, label: 'callers' });
  assertOk(t, a, proxy);
  assertOk(t, await bob.done, proxy);
  for (const w of await workersOf(proxy)) t.true(w.received > 0, `worker ${w.worker} got no call`);
  // No final response from carol: the new worker's Timer C (§16.8) ends the call.
  await journaled(failed, 'the ringing call\'s end after Timer C', 10_000);
  await assertIdle(t, proxy);
});

test('--workers 3: two workers killed at once are both started again and answer for their Call-IDs', async (t) => {
  const proxy = await proxyFor(t, ['--workers', '3'], { timeoutMs: 60_000 });
  const before = await workersOf(proxy);
  t.is(before.length, 3);
  const after = await killWorkers(proxy, before, [0, 1]);
  t.deepEqual(after.map((w) => w.pid !== before[w.worker]!.pid), [true, true, false], `not started again:\n${tail(proxy.output())}`);
  const c = await UdpClient.open();
  t.teardown(() => c.close());
  for (const w of [0, 1, 2]) {
    let id: string;
    do id = newCallId(`options-${w}`);
    while (callIdTextHash(id) % 3 !== w);
    await c.send([
      `OPTIONS sip:127.0.0.1:${proxy.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bK-o${w}-${id.slice(10, 18)}`, 'Max-Forwards: 70',
      'From: <sip:probe@127.0.0.1>;tag=p', `To: <sip:127.0.0.1:${proxy.port}>`, `Call-ID: ${id}`, `CSeq: ${w + 1} OPTIONS`, 'Content-Length: 0', '', '',
    ].join('\r\n'), proxy.port);
    t.regex(await c.waitFor(new RegExp(`CSeq: ${w + 1} OPTIONS`), 3000), /^SIP\/2\.0 200 /, `worker ${w} answers its Call-IDs`);
  }
});

/** A callee on loopback that rings for every INVITE and says nothing more: its calls stay open (Timer C is 180 s). */
async function ringingCallee(t: ExecutionContext): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => s.close());
  s.on('message', (m, from) => {
    const head = m.toString('utf8').split('\r\n\r\n')[0]!.split('\r\n');
    if (!head[0]!.startsWith('INVITE ')) return;
    const to = head.find((l) => /^To:/i.test(l));
    const copied = head.filter((l) => /^(Via|From|Call-ID|CSeq):/i.test(l));
    s.send(['SIP/2.0 180 Ringing', ...copied, `${to};tag=rings`, 'Content-Length: 0', '', ''].join('\r\n'), from.port, from.address);
  });
  return s.address().port;
}

test('--workers 2 --max-calls 4: the proxy holds 4 ringing calls in all, 2 on each worker, and the next INVITE on either worker gets 503 Too many calls', async (t) => {
  const proxy = await proxyFor(t, ['--workers', '2', '--max-calls', '4']);
  const bob = await ringingCallee(t);
  await registerContact(proxy, 'bob', bob);
  // Each worker's copy has the binding (the other one's through the primary) before any call.
  const deadline = Date.now() + 5000;
  while ((await workersOf(proxy)).some((w) => w.bindings !== 1)) {
    if (Date.now() > deadline) return t.fail(`binding not in every worker: ${JSON.stringify(await workersOf(proxy))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const alice = await UdpClient.open();
  t.teardown(() => alice.close());
  const invite = async (callId: string): Promise<string> => {
    const branch = `z9hG4bK-${callId.slice(0, callId.indexOf('@'))}`;
    const via = `Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=${branch};rport`;
    await alice.send([
      `INVITE sip:bob@127.0.0.1:${proxy.port} SIP/2.0`, via, 'Max-Forwards: 70', 'From: <sip:alice@127.0.0.1>;tag=a1', 'To: <sip:bob@127.0.0.1>',
      `Call-ID: ${callId}`, 'CSeq: 1 INVITE', `Contact: <sip:alice@127.0.0.1:${alice.port}>`, 'Content-Length: 0', '', '',
    ].join('\r\n'), proxy.port);
    const answer = await alice.waitFor(new RegExp(`^SIP/2\\.0 [1-6]\\d\\d (?!Trying)[\\s\\S]*Call-ID: ${callId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\r\n`), 5000);
    const toTag = /^To:.*;tag=([^;\r\n]+)/im.exec(answer)?.[1];
    // The ACK of a final non-2xx response ends at the proxy (§17.1.1.3).
    if (/^SIP\/2\.0 [3-6]/.test(answer)) {
      await alice.send([
        `ACK sip:bob@127.0.0.1:${proxy.port} SIP/2.0`, via, 'Max-Forwards: 70', 'From: <sip:alice@127.0.0.1>;tag=a1', `To: <sip:bob@127.0.0.1>;tag=${toTag}`,
        `Call-ID: ${callId}`, 'CSeq: 1 ACK', 'Content-Length: 0', '', '',
      ].join('\r\n'), proxy.port);
    }
    return answer.split('\r\n')[0]!;
  };

  for (const w of [0, 1]) {
    for (const k of [1, 2]) t.is(await invite(ownedBy(w, `held${w}${k}`)), 'SIP/2.0 180 Ringing', `call ${k} on worker ${w}`);
  }
  for (const w of [0, 1]) t.is(await invite(ownedBy(w, `over${w}`)), 'SIP/2.0 503 Too many calls', `worker ${w} is full`);
  const status = await proxy.status();
  t.is(status.calls, 4, 'the whole proxy\'s calls');
  t.deepEqual((await workersOf(proxy)).map((w) => w.calls), [2, 2]);
});
