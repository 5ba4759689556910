// RFC 4320 §4.2 on the wire: a non-INVITE request nobody answers before Timer F gets no 408 from
// the proxy, no response at all; a fork where one phone answers gets that phone's answer.
import test, { type ExecutionContext } from 'ava';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { freePort } from '../helpers/ports.js';
import { UdpClient } from '../helpers/udpClient.js';
import { assertIdle } from '../helpers/flows.js';

/** 64*T1 = 1.28 s: Timer F comes quickly. */
const T1 = 20;
const TIMERS = ['--t1', String(T1), '--t2', String(T1 * 4), '--t4', String(T1 * 5)];

async function proxyAndPhones(t: ExecutionContext): Promise<{ proxy: RunningProxy; alice: UdpClient; bob: UdpClient }> {
  t.timeout(20_000);
  const proxy = await startProxy({ args: TIMERS });
  t.teardown(() => proxy.stop());
  const alice = await UdpClient.open();
  const bob = await UdpClient.open();
  t.teardown(() => (alice.close(), bob.close()));
  return { proxy, alice, bob };
}

/** Registers bob at the given contact ports through his socket (a dead port is one nobody listens on). */
async function register(proxy: RunningProxy, bob: UdpClient, ports: number[]): Promise<void> {
  await bob.send([
    `REGISTER sip:127.0.0.1:${proxy.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${bob.port};branch=z9hG4bKreg4320;rport`, 'Max-Forwards: 70',
    'From: <sip:bob@127.0.0.1>;tag=b', 'To: <sip:bob@127.0.0.1>', 'Call-ID: reg-4320', 'CSeq: 1 REGISTER',
    ...ports.map((p) => `Contact: <sip:bob@127.0.0.1:${p}>`), 'Expires: 300', 'Content-Length: 0', '', '',
  ].join('\r\n'), proxy.port);
  await bob.waitFor(/^SIP\/2.0 200/);
}

function message(alice: UdpClient, proxy: RunningProxy, name: string): string {
  return [
    `MESSAGE sip:bob@127.0.0.1:${proxy.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK${name};rport`, 'Max-Forwards: 70',
    `From: <sip:alice@127.0.0.1>;tag=${name}`, 'To: <sip:bob@127.0.0.1>', `Call-ID: ${name}-${alice.port}`, 'CSeq: 1 MESSAGE',
    'Content-Type: text/plain', 'Content-Length: 5', '', 'hello',
  ].join('\r\n');
}

test('a MESSAGE to a dead contact gets no 408 after Timer F, no response at all, and the proxy is left idle (RFC 4320 §4.2)', async (t) => {
  const { proxy, alice, bob } = await proxyAndPhones(t);
  await register(proxy, bob, [await freePort('127.0.0.1')]);
  const msg = message(alice, proxy, 'dead');
  await alice.send(msg, proxy.port);
  // Alice's Timer E, as a phone would retransmit: absorbed, nothing to answer yet (§17.2.2).
  await new Promise((r) => setTimeout(r, T1 * 4));
  await alice.send(msg, proxy.port);
  await t.throwsAsync(alice.waitFor(/^SIP\/2.0 /, 64 * T1 + 1500), { message: /no datagram matching/ }, 'nothing reached alice past Timer F');
  await assertIdle(t, proxy, 3000);
  t.is((await proxy.status()).internalErrors, 0);
});

test('a forked MESSAGE where one contact answers 404 and the other is dead: alice gets the 404 once Timer F ends the dead branch', async (t) => {
  const { proxy, alice, bob } = await proxyAndPhones(t);
  await register(proxy, bob, [bob.port, await freePort('127.0.0.1')]);
  const sentAt = Date.now();
  await alice.send(message(alice, proxy, 'fork'), proxy.port);
  const relayed = await bob.waitFor(/^MESSAGE /);
  const head = relayed.split('\r\n\r\n')[0]!.split('\r\n');
  const keep = head.filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l)).map((l) => (l.startsWith('To:') ? `${l};tag=bob404` : l));
  await bob.send(['SIP/2.0 404 Not Found', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), proxy.port);
  const final = await alice.waitFor(/^SIP\/2.0 /, 64 * T1 + 3000);
  t.regex(final, /^SIP\/2.0 404 [^\r]*\r\n[\s\S]*To: <sip:bob@127\.0\.0\.1>;tag=bob404/, "bob's own 404, not the proxy's 408");
  t.true(Date.now() - sentAt >= 64 * T1 - 100, 'sent when the dead branch timed out (§16.7 step 6)');
  await assertIdle(t, proxy, 3000);
});
