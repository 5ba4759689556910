// Issue "Event-sourced journal", restart recovery: the proxy is stopped and started again on the
// same port and journal while SIPp phones carry on, as a phone on a LAN would across a restart.
import test, { type ExecutionContext } from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { freePort } from '../helpers/ports.js';
import { startSipp } from '../helpers/sipp.js';
import { assertIdle, assertOk, callLogEntry, newCallId, TIMERS, waitForBindings, workspace } from '../helpers/flows.js';

const HMS = '\\d\\d:\\d\\d:\\d\\d';
const ANSWERED = new RegExp(`^-----\\nfrom: sip:alice@127\\.0\\.0\\.1\\nto: sip:bob@127\\.0\\.0\\.1\\nringing: ${HMS}\\nstart: ${HMS}\\nend: ${HMS}\\n$`);

/** Stops `proxy` (SIGTERM) and starts a new process on the same port, journal and call log. */
async function restart(proxy: RunningProxy, t: ExecutionContext, extra: string[]): Promise<RunningProxy> {
  t.is(await proxy.stop(), 0);
  const next = await startProxy({ port: proxy.port, args: [...TIMERS, ...extra], journal: proxy.journal, callLog: proxy.callLog });
  t.teardown(() => next.stop());
  return next;
}

/**
 * A proxy on its own journal and call log, with bob (a SIPp callee that answers) registered: its
 * scenario's only REGISTER, after which it waits for the INVITE of the call `callId`.
 */
async function registeredCallee(t: ExecutionContext, name: string, extra: string[], scenario = 'callee-answer.xml') {
  t.timeout(40_000);
  const { journal, callLog } = workspace(t, 'restart');
  const first = await startProxy({ port: await freePort(), args: [...TIMERS, ...extra], journal, callLog });
  t.teardown(() => first.stop());
  const callId = newCallId(name);
  const bob = await startSipp({ scenario, remote: `127.0.0.1:${first.port}`, service: 'bob', callId, timeoutMs: 30_000, label: 'bob' });
  t.teardown(() => bob.stop());
  await waitForBindings(first, 1, [bob]);
  return { first, bob, callId, journal, callLog };
}

// One process, and --workers 2 (the primary recovers the journal and hands each answered call to
// the worker that owns its Call-ID).
for (const extra of [[], ['--workers', '2']]) {
  const variant = extra.length ? ` (${extra.join(' ')})` : '';

  test(`register a phone, restart the proxy, call the phone: the call goes through without a new REGISTER${variant}`, async (t) => {
    const { first, bob, callId, callLog } = await registeredCallee(t, 'restart-reg', extra);

    const proxy = await restart(first, t, extra);
    t.regex(proxy.output(), /journal .*: \d+ events, 1 live bindings/);
    t.is((await proxy.status()).bindings, 1);

    const alice = await startSipp({ scenario: 'caller-call.xml', remote: `127.0.0.1:${proxy.port}`, service: 'bob', callId, timeoutMs: 20_000, label: 'alice' });
    assertOk(t, await alice.done, proxy);
    assertOk(t, await bob.done, proxy);
    t.regex(await callLogEntry(callLog), ANSWERED);
    await assertIdle(t, proxy);
  });

  test(`answer a call, restart the proxy, send BYE: the log.txt entry has its end${variant}`, async (t) => {
    const { first, bob, callId, journal, callLog } = await registeredCallee(t, 'restart-bye', extra);
    // Alice holds the call 5 s between ACK and BYE; the proxy restarts meanwhile.
    const alice = await startSipp({ scenario: 'caller-hold.xml', remote: `127.0.0.1:${first.port}`, service: 'bob', callId, args: ['-d', '5000'], timeoutMs: 25_000, label: 'alice' });
    t.teardown(() => alice.stop());
    const answered = Date.now() + 5000;
    while ((await first.status()).calls === 0 || !readFileSync(path.join(journal, 'segment-000001.jsonl'), 'utf8').includes('"call.answered"')) {
      if (Date.now() > answered) return t.fail(`the call was not answered:\n${first.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    t.is(readFileSync(callLog, 'utf8'), '', 'an answered call is not in log.txt before it ends');

    const proxy = await restart(first, t, extra);
    t.is((await proxy.status()).calls, 1, 'the answered call is open again after the restart');
    assertOk(t, await alice.done, proxy);
    assertOk(t, await bob.done, proxy);
    t.regex(await callLogEntry(callLog), ANSWERED);
    await assertIdle(t, proxy);
  });
}

/** Every journal segment's text, in order. */
const journalText = (journal: string) =>
  readdirSync(journal).sort().map((f) => readFileSync(path.join(journal, f), 'utf8')).join('');

/**
 * Waits (bounded) for the call's ringing in the journal, kills `first` with SIGKILL (no word to
 * anyone) and starts a new process on its port, journal and call log; null (the test failed) when
 * the call did not ring.
 */
async function killWhileRinging(t: ExecutionContext, first: RunningProxy, journal: string, callLog: string): Promise<RunningProxy | null> {
  const ringing = Date.now() + 5000;
  while (!journalText(journal).includes('"call.ringing"')) {
    if (Date.now() > ringing) {
      t.fail(`the call did not ring:\n${first.output()}`);
      return null;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  first.process.kill('SIGKILL');
  t.is(await first.stop(), null, 'killed, not stopped');
  const proxy = await startProxy({ port: first.port, args: TIMERS, journal, callLog });
  t.teardown(() => proxy.stop());
  return proxy;
}

test('a call ringing when the proxy is killed (SIGKILL) and started again on its journal completes: log.txt has it answered, with its end', async (t) => {
  // Bob rings 3 s before he answers; the proxy dies meanwhile, without a word (no SIGTERM).
  const { first, bob, callId, journal, callLog } = await registeredCallee(t, 'restart-ring', [], 'callee-ring-answer.xml');
  const alice = await startSipp({ scenario: 'caller-call.xml', remote: `127.0.0.1:${first.port}`, service: 'bob', callId, timeoutMs: 25_000, label: 'alice' });
  t.teardown(() => alice.stop());
  const proxy = await killWhileRinging(t, first, journal, callLog);
  if (!proxy) return;
  t.is((await proxy.status()).calls, 1, 'the ringing call is open again, waiting for its answer');
  assertOk(t, await alice.done, proxy);
  assertOk(t, await bob.done, proxy);
  t.regex(await callLogEntry(callLog), ANSWERED);
  const facts = journalText(journal).split('\n').filter((l) => l.includes(callId)).map((l) => JSON.parse(l).type).filter((type) => type.startsWith('call.'));
  t.deepEqual(facts, ['call.ringing', 'call.answered', 'call.ended']);
  await assertIdle(t, proxy);
});

test('a call ringing when the proxy is killed (SIGKILL): after the restart the caller\'s CANCEL reaches the phone on its INVITE\'s branch, which ends the ringing; log.txt has it cancelled', async (t) => {
  // Bob matches a CANCEL to his INVITE by its branch, as phones do (§9.2), and answers 481 otherwise.
  const { first, bob, callId, journal, callLog } = await registeredCallee(t, 'restart-cancel', [], 'callee-ring-cancel-branch.xml');
  // Alice hangs up 3 s after the 180: the proxy is killed and started again meanwhile.
  const alice = await startSipp({ scenario: 'caller-cancel.xml', remote: `127.0.0.1:${first.port}`, service: 'bob', callId, timeoutMs: 25_000, label: 'alice', args: ['-d', '3000'] });
  t.teardown(() => alice.stop());
  const proxy = await killWhileRinging(t, first, journal, callLog);
  if (!proxy) return;
  assertOk(t, await alice.done, proxy);
  assertOk(t, await bob.done, proxy);
  t.regex(await callLogEntry(callLog), new RegExp(`^-----\\nfrom: sip:alice@127\\.0\\.0\\.1\\nto: sip:bob@127\\.0\\.0\\.1\\nringing: ${HMS}\\nrequest terminated: ${HMS}\\n$`));
  const facts = journalText(journal).split('\n').filter((l) => l.includes(callId)).map((l) => JSON.parse(l).type).filter((type) => type.startsWith('call.'));
  t.deepEqual(facts, ['call.ringing', 'call.cancelled']);
  await assertIdle(t, proxy);
});
