// Issue "Hardening": a REGISTER flood from one source gets that source banned (and journaled),
// while calls from other sources go on; known scanners are dropped unanswered.
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startSipp } from '../helpers/sipp.js';
import { assertOk, newCallId, proxyFor, waitForBindings } from '../helpers/flows.js';
import { UdpClient } from '../helpers/udpClient.js';

// One process, and --workers 2 (each worker counts its share of the rate; a ban reaches every worker).
for (const extra of [[], ['--workers', '2']]) {
  const variant = extra.length ? ` (${extra.join(' ')})` : '';

  test(`a REGISTER flood from 127.0.0.2 gets it banned while a call between 127.0.0.3 and 127.0.0.4 completes${variant}`, async (t) => {
    const proxy = await proxyFor(t, ['--rate-limit', '200', '--ban-seconds', '60', ...extra], { timeoutMs: 45_000 });
    const remote = `${proxy.host}:${proxy.port}`;
    const callId = newCallId('during-flood');
    const bob = await startSipp({ scenario: 'callee-answer.xml', remote, service: 'bob', callId, ip: '127.0.0.4', timeoutMs: 30_000, label: 'bob@127.0.0.4' });
    t.teardown(() => bob.stop());
    await waitForBindings(proxy, 1, [bob]);

    const flood = await startSipp({ scenario: 'flood-register.xml', remote, ip: '127.0.0.2', calls: 12_000, args: ['-r', '4000', '-rp', '1000'], timeoutMs: 20_000, label: 'flood@127.0.0.2' });
    t.teardown(() => flood.stop());
    await new Promise((r) => setTimeout(r, 1000));
    // The call, placed in the middle of the flood, from another source.
    const alice = await startSipp({ scenario: 'caller-call.xml', remote, service: 'bob', callId, ip: '127.0.0.3', timeoutMs: 20_000, label: 'alice@127.0.0.3' });
    const a = await alice.done;
    const f = await flood.done;
    assertOk(t, a, proxy);
    assertOk(t, await bob.done, proxy);
    t.true(f.ok, `the flood ran: ${f.report()}`);

    const s = await proxy.status();
    t.is(s.bannedSources, 1);
    t.true(s.droppedByGuard > 5000, `dropped ${s.droppedByGuard} datagrams of the flood`);
    t.true(s.bindings < 400, `the flood registered only what got in before the ban (${s.bindings} bindings)`);
    t.regex(proxy.output(), /banned 127\.0\.0\.2 until .* \(request flood\)/);
    const journal = readdirSync(proxy.journal).map((f) => readFileSync(path.join(proxy.journal, f), 'utf8')).join('');
    t.regex(journal, /"type":"source\.banned","source":"127\.0\.0\.2","reason":"rate"/);
    t.is(journal.match(/"type":"source\.banned"/g)?.length, 1, 'journaled once');
  });
}

test('a ban is released after its time and journaled', async (t) => {
  const proxy = await proxyFor(t, ['--rate-limit', '20', '--ban-seconds', '1']);
  const c = await UdpClient.open('127.0.0.5');
  t.teardown(() => c.close());
  const options = (n: number) => [
    `OPTIONS sip:${proxy.host}:${proxy.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.5:${c.port};branch=z9hG4bKban${n}`, 'Max-Forwards: 70',
    'From: <sip:p@127.0.0.5>;tag=1', `To: <sip:${proxy.host}>`, `Call-ID: ban-${n}`, `CSeq: ${n} OPTIONS`, 'Content-Length: 0', '', '',
  ].join('\r\n');
  for (let i = 0; i < 60; i++) await c.send(options(i), proxy.port);
  await new Promise((r) => setTimeout(r, 300));
  t.is((await proxy.status()).bannedSources, 1);
  await new Promise((r) => setTimeout(r, 1200));
  t.is((await proxy.status()).bannedSources, 0);
  await c.send(options(1000), proxy.port);
  t.regex(await c.waitFor(/CSeq: 1000 OPTIONS/), /^SIP\/2.0 200/, 'served again after the release');
  t.regex(proxy.output(), /released 127\.0\.0\.5/);
  const journal = readdirSync(proxy.journal).map((f) => readFileSync(path.join(proxy.journal, f), 'utf8')).join('');
  t.regex(journal, /"type":"source\.banned","source":"127\.0\.0\.5"[\s\S]*"type":"source\.released","source":"127\.0\.0\.5"/);
});

test('requests from known scanners (friendly-scanner) are dropped without an answer', async (t) => {
  const proxy = await proxyFor(t);
  const c = await UdpClient.open();
  t.teardown(() => c.close());
  const req = (ua: string, n: number) => [
    `OPTIONS sip:100@${proxy.host}:${proxy.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${c.port};branch=z9hG4bKscan${n}`, 'Max-Forwards: 70',
    'From: "sipvicious"<sip:100@1.1.1.1>;tag=1', `To: <sip:100@${proxy.host}>`, `Call-ID: scan-${n}`, `CSeq: ${n} OPTIONS`, `User-Agent: ${ua}`, 'Content-Length: 0', '', '',
  ].join('\r\n');
  await c.send(req('friendly-scanner', 1), proxy.port);
  await t.throwsAsync(c.waitFor(/CSeq: 1 OPTIONS/, 700));
  await c.send(req('Linphone/5.2', 2), proxy.port);
  t.regex(await c.waitFor(/CSeq: 2 OPTIONS/), /^SIP\/2.0 404/, 'a phone gets its answer');
  t.is((await proxy.status()).scannersDropped, 1);
});
