// RFC 5626 §6 on the wire: a phone that comes back from a new port with the same +sip.instance and
// reg-id (baresip with ;sipnat=outbound and the uuid module) replaces its binding, also across a
// restart of the proxy; a call then reaches the new contact only. Raw UDP over loopback.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { UdpClient } from '../helpers/udpClient.js';
import { assertIdle, workspace } from '../helpers/flows.js';

/** 64*T1 = 3.2 s: a dead branch would hold the 486 that long (Timer B); Timer J ends soon after. */
const T1 = 50;
const TIMERS = ['--t1', String(T1), '--t2', String(T1 * 4), '--t4', String(T1 * 5)];

const INSTANCE = ';+sip.instance="<urn:uuid:44796a60-5f5b-4b2a-9a4e-0a1b2c3d4e5f>";reg-id=1';

/** grace's phone registers its socket's port as Contact, as baresip does from a new local port. */
async function register(proxy: RunningProxy, phone: UdpClient, cseq: number): Promise<string> {
  await phone.send([
    `REGISTER sip:127.0.0.1:${proxy.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${phone.port};branch=z9hG4bKinst${cseq};rport`, 'Max-Forwards: 70',
    'From: <sip:grace@127.0.0.1>;tag=g', 'To: <sip:grace@127.0.0.1>', 'Call-ID: reg-instance', `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:grace-0x1@127.0.0.1:${phone.port}>${INSTANCE}`, 'Expires: 600', 'Content-Length: 0', '', '',
  ].join('\r\n'), proxy.port);
  return phone.waitFor(/^SIP\/2.0 200/);
}

/** alice calls grace; grace's phone (`live`) declines with 486; returns how long alice waited for it. */
async function callDeclined(proxy: RunningProxy, alice: UdpClient, live: UdpClient, name: string): Promise<number> {
  const sentAt = Date.now();
  const via = `SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK${name};rport`;
  await alice.send([
    `INVITE sip:grace@127.0.0.1:${proxy.port} SIP/2.0`, `Via: ${via}`, 'Max-Forwards: 70',
    `From: <sip:alice@127.0.0.1>;tag=${name}`, 'To: <sip:grace@127.0.0.1>', `Call-ID: ${name}-${alice.port}`, 'CSeq: 1 INVITE',
    `Contact: <sip:alice@127.0.0.1:${alice.port}>`, 'Content-Length: 0', '', '',
  ].join('\r\n'), proxy.port);
  const inv = await live.waitFor(/^INVITE /);
  const keep = inv.split('\r\n\r\n')[0]!.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l)).map((l) => (l.startsWith('To:') ? `${l};tag=busy` : l));
  await live.send(['SIP/2.0 486 Busy Here', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), proxy.port);
  await alice.waitFor(/^SIP\/2.0 486/, 3000);
  const waited = Date.now() - sentAt;
  await alice.send([
    `ACK sip:grace@127.0.0.1:${proxy.port} SIP/2.0`, `Via: ${via}`, 'Max-Forwards: 70',
    `From: <sip:alice@127.0.0.1>;tag=${name}`, 'To: <sip:grace@127.0.0.1>;tag=busy', `Call-ID: ${name}-${alice.port}`, 'CSeq: 1 ACK', 'Content-Length: 0', '', '',
  ].join('\r\n'), proxy.port);
  return waited;
}

test('a phone back from a new port with the same +sip.instance and reg-id has one binding; the call reaches it alone, also after a restart', async (t) => {
  t.timeout(40_000);
  const { journal, callLog } = workspace(t, 'instance');
  const first = await startProxy({ args: TIMERS, journal, callLog });
  t.teardown(() => first.stop());
  const alice = await UdpClient.open();
  const before = await UdpClient.open();
  const after = await UdpClient.open();
  t.teardown(() => (alice.close(), before.close(), after.close()));

  await register(first, before, 1);
  const ok = await register(first, after, 2);
  const contacts = ok.split('\r\n').filter((l) => /^(Contact|m):/i.test(l));
  t.is(contacts.length, 1, `the 200 lists the current binding only:\n${contacts.join('\n')}`);
  t.true(contacts[0]!.includes(`127.0.0.1:${after.port}>`));
  t.is((await first.status()).bindings, 1);
  // `before` still listens but stands for the dead address: it must get nothing.
  const waited = await callDeclined(first, alice, after, 'c1');
  t.true(waited < 64 * T1, `the 486 came after ${waited} ms, not after a dead branch's Timer B`);
  await t.throwsAsync(before.waitFor(/^INVITE /, 300), { message: /no datagram matching/ });
  await assertIdle(t, first);

  t.is(await first.stop(), 0);
  const proxy = await startProxy({ port: first.port, args: TIMERS, journal, callLog });
  t.teardown(() => proxy.stop());
  t.regex(proxy.output(), /journal .*: \d+ events, 1 live bindings/);
  t.is((await proxy.status()).bindings, 1);
  await callDeclined(proxy, alice, after, 'c2');
  await t.throwsAsync(before.waitFor(/^INVITE /, 300), { message: /no datagram matching/ });
  const text = readdirSync(journal).sort().map((f) => readFileSync(path.join(journal, f), 'utf8')).join('');
  t.regex(text, /"type":"binding.removed"[^\n]*"reason":"replaced"/);
  await assertIdle(t, proxy);
});
