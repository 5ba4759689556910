// The JIT warm-up at start (src/actors/warmUp.ts): the real proxy, started as a user starts it,
// answers from the moment it listens while its scripted calls run beside, and keeps none of them:
// no transaction, binding or call alive, nothing in the journal, nothing in log.txt.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { freePort } from '../helpers/ports.js';
import { assertOk, callee, caller, callLogEntry, newCallId, waitForBindings, workspace } from '../helpers/flows.js';
import { UdpClient } from '../helpers/udpClient.js';

const DONE = /warm-up: 3000 scripted calls in \d+ ms/g;
/** The proxy's default warm-up (the other tests start theirs with --warm-up 0). */
const DEFAULT = ['--warm-up', '3000'];

async function warmUpLines(proxy: RunningProxy, count: number, ms = 20_000): Promise<number> {
  const deadline = Date.now() + ms;
  let n = 0;
  while ((n = (proxy.output().match(DONE) ?? []).length) < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return n;
}

for (const extra of [[], ['--workers', '2']]) {
  const variant = extra.length ? ` (${extra.join(' ')})` : '';

  test(`the default warm-up: the proxy answers while it runs, and it leaves nothing behind${variant}`, async (t) => {
    t.timeout(40_000);
    const { journal, callLog } = workspace(t, 'warm-up');
    const port = await freePort();
    const first = await startProxy({ port, args: [...DEFAULT, ...extra], journal, callLog });
    t.teardown(() => first.stop());
    const phone = await UdpClient.open();
    t.teardown(() => phone.close());
    // At once, before the warm-up is done: /status says it runs (in each worker), and an OPTIONS
    // to the proxy gets its 200.
    t.notRegex(first.output(), DONE);
    t.is((await first.status()).warmingUp, extra.length ? 2 : 1);
    await phone.send(
      [`OPTIONS sip:127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bKwarm1;rport`, 'Max-Forwards: 70',
        `From: <sip:probe@127.0.0.1>;tag=w1`, `To: <sip:127.0.0.1:${port}>`, 'Call-ID: warm-up-probe@127.0.0.1', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'),
      port,
    );
    await phone.waitFor(/^SIP\/2\.0 200 .*\r\n[\s\S]*CSeq: 1 OPTIONS/, 3000);
    // One line per process that serves (each worker warms its own code).
    t.is(await warmUpLines(first, extra.length ? 2 : 1), extra.length ? 2 : 1, first.output());
    // The probe's own server transaction (it lingers 64*T1, §17.2.2) and nothing of the warm-up.
    t.like(await first.status(), { warmingUp: 0, serverTransactions: 1, clientTransactions: 0, calls: 0, relays: 0, bindings: 0 });
    t.is(await first.stop(), 0);

    t.is(readFileSync(callLog, 'utf8'), '');
    // Started again on the same journal: it recovers nothing, because nothing was journaled.
    const second = await startProxy({ port, args: [...extra, '--warm-up', '0'], journal, callLog });
    t.teardown(() => second.stop());
    t.regex(second.output(), /journal .*: 0 events, 0 live bindings/);
    await new Promise((r) => setTimeout(r, 500));
    t.notRegex(second.output(), /warm-up:/);
  });
}

test('a call through the proxy while its warm-up runs: answered, ended, in log.txt', async (t) => {
  t.timeout(40_000);
  const { journal, callLog } = workspace(t, 'warm-up-call');
  // A longer warm-up than the default (some 3.5 s on an idle machine), so that the call is made
  // while it runs; not longer: the other test files run beside this one.
  const proxy = await startProxy({ args: ['--warm-up', '8000'], journal, callLog });
  t.teardown(() => proxy.stop());
  const callId = newCallId('during-warm-up');
  const bob = await callee(t, proxy, { scenario: 'callee-answer.xml', service: 'bob', callId });
  await waitForBindings(proxy, 1, [bob]);
  t.is((await proxy.status()).warmingUp, 1, 'the warm-up still runs when the call is placed');
  assertOk(t, await caller(proxy, { scenario: 'caller-call.xml', service: 'bob', callId }), proxy);
  assertOk(t, await bob.done, proxy);
  t.regex(await callLogEntry(callLog), /^-----\nfrom: sip:alice@127\.0\.0\.1\nto: sip:bob@127\.0\.0\.1\nringing: [\d:]+\nstart: [\d:]+\nend: [\d:]+\n$/);
  t.is(await proxy.stop(), 0);
});
