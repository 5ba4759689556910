/**
 * Real softphones (baresip) on a simulated LAN of network namespaces.
 * Needs root + `ip netns` (skipped otherwise, with a t.log saying why) and /usr/bin/baresip.
 */
import test, { type ExecutionContext } from 'ava';
import { createLan, lanUnsupportedReason, type Lan } from '../helpers/netns.js';
import { startPhone, type Phone, type PhoneOptions } from '../helpers/baresip.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatUserLine, makeUserEntry } from '../../src/auth/users.js';

const unsupported = await lanUnsupportedReason();

/** Creates the LAN and makes sure it (and everything in it) is torn down however the test ends. */
async function lanFor<H extends string>(t: ExecutionContext, hosts: H[]): Promise<Lan<H>> {
  t.timeout(40_000, 'test body must finish within 40 s'); // teardowns add at most ~15 s
  const lan = await createLan(hosts);
  t.teardown(() => lan.destroy()); // registered first, so it runs after every other teardown
  t.log(`lan ${lan.id}: ${Object.values<{ name: string; ip: string }>(lan.hosts).map((h) => `${h.name}=${h.ip}`).join(' ')}`);
  return lan;
}

async function phone<H extends string>(t: ExecutionContext, lan: Lan<H>, host: H, opts: PhoneOptions): Promise<Phone> {
  const p = await startPhone(lan, host, opts);
  t.teardown(() => p.stop());
  return p;
}

/** The proxy on port 5060 in the LAN's `proxy` namespace; its output is logged if the test fails. */
async function proxyIn(t: ExecutionContext, lan: Lan<'proxy'>, args: string[] = []): Promise<RunningProxy> {
  const proxy = await startProxy({ host: lan.hosts.proxy.ip, port: 5060, args, wrap: ['ip', 'netns', 'exec', lan.hosts.proxy.ns] }).catch((e: Error) => {
    throw new Error(`could not start the proxy in namespace ${lan.hosts.proxy.ns}: ${e.message}`);
  });
  t.teardown(async () => {
    await proxy.stop();
    if (!t.passed) t.log(`--- proxy output ---\n${proxy.output().slice(-4000)}`);
  });
  return proxy;
}

/** alice calls `target`, bob auto-answers, alice hangs up; both sides must see each step. */
async function callAndHangUp(t: ExecutionContext, alice: Phone, bob: Phone, target: string): Promise<void> {
  await alice.dial(target);
  const [a, b] = await Promise.all([alice.waitEvent('CALL_ESTABLISHED', 10_000), bob.waitEvent('CALL_ESTABLISHED', 10_000)]);
  t.is(a.direction, 'outgoing');
  t.is(b.direction, 'incoming');
  t.true(b.peeruri?.startsWith('sip:alice@'), `bob's peer is ${b.peeruri}`);
  // No CALL_INCOMING check: baresip 1.0.0 answers answermode=auto calls without emitting it.
  await alice.hangup();
  await Promise.all([alice.waitEvent('CALL_CLOSED', 10_000), bob.waitEvent('CALL_CLOSED', 10_000)]);
}

test('baseline: alice calls bob directly over the LAN (no proxy)', async (t) => {
  if (unsupported) {
    t.log(`SKIPPED: ${unsupported}`);
    return t.pass();
  }
  const lan = await lanFor(t, ['alice', 'bob']);
  // Sequential starts: if one fails, the other isn't left registering a teardown mid-teardown.
  const alice = await phone(t, lan, 'alice', { user: 'alice' });
  const bob = await phone(t, lan, 'bob', { user: 'bob' });
  await callAndHangUp(t, alice, bob, bob.uri);
});

// With each interpreter of the machines (--engine; src/actors/leanInterpreter.ts).
for (const engine of ['xstate', 'lean']) {
  test(`alice calls bob through the proxy; both register first (--engine ${engine})`, async (t) => {
    if (unsupported) {
      t.log(`SKIPPED: ${unsupported}`);
      return t.pass();
    }
    const lan = await lanFor(t, ['proxy', 'alice', 'bob']);
    const proxyIp = lan.hosts.proxy.ip;
    const proxy = await proxyIn(t, lan, ['--engine', engine]);

    const alice = await phone(t, lan, 'alice', { user: 'alice', proxyIp, proxyPort: 5060 });
    const bob = await phone(t, lan, 'bob', { user: 'bob', proxyIp, proxyPort: 5060 });
    await Promise.all([alice.waitRegistered(10_000), bob.waitRegistered(10_000)]);
    await callAndHangUp(t, alice, bob, `sip:bob@${proxyIp}`);

    // The proxy may finish the BYE transaction slightly after the phones report the close.
    let calls = -1;
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      calls = (await proxy.status()).calls;
      if (calls === 0) break;
    }
    t.is(calls, 0, 'proxy still tracks calls after both sides hung up');
  });
}

test('with --users, alice and bob answer the 401 and 407 challenges with their passwords and call', async (t) => {
  if (unsupported) {
    t.log(`SKIPPED: ${unsupported}`);
    return t.pass();
  }
  const lan = await lanFor(t, ['proxy', 'alice', 'bob']);
  const proxyIp = lan.hosts.proxy.ip;
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-lan-users-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const users = path.join(dir, 'users.txt');
  const passwords = { alice: 'wonderland', bob: 'builder' };
  writeFileSync(users, Object.entries(passwords).map(([u, p]) => `${formatUserLine(makeUserEntry(u, proxyIp, p))}\n`).join(''));
  // baresip 1.0 (libre 1.1) knows only MD5 and gives up on a 401/407 that also offers another
  // algorithm ("Function not implemented"): such phones need MD5 alone.
  const proxy = await proxyIn(t, lan, ['--users', users, '--auth-algorithms', 'md5']);

  const alice = await phone(t, lan, 'alice', { user: 'alice', proxyIp, proxyPort: 5060, accountParams: `;auth_pass=${passwords.alice}`, sipTrace: true });
  const bob = await phone(t, lan, 'bob', { user: 'bob', proxyIp, proxyPort: 5060, accountParams: `;auth_pass=${passwords.bob}` });
  await Promise.all([alice.waitRegistered(10_000), bob.waitRegistered(10_000)]);
  await callAndHangUp(t, alice, bob, `sip:bob@${proxyIp}`);
  const statuses = alice.sipTrace().filter((m) => m.dir === 'rx' && m.status !== undefined).map((m) => `${m.status} ${m.cseq.split(' ')[1]}`);
  t.true(statuses.includes('401 REGISTER') && statuses.includes('407 INVITE'), `alice was challenged: ${statuses.join(', ')}`);
  t.notRegex(proxy.output(), /authentication failed/);
});

test('baresip with ;sipnat=outbound back from a new port (same +sip.instance and reg-id) replaces its binding; a call reaches the new one only (RFC 5626 §6)', async (t) => {
  if (unsupported) {
    t.log(`SKIPPED: ${unsupported}`);
    return t.pass();
  }
  const lan = await lanFor(t, ['proxy', 'alice', 'bob']);
  const proxyIp = lan.hosts.proxy.ip;
  const proxy = await proxyIn(t, lan);
  // One config folder, so one `uuid` file: the same UA instance, started again on another port.
  const outbound: PhoneOptions = { user: 'bob', proxyIp, proxyPort: 5060, accountParams: `;sipnat=outbound;outbound="sip:${proxyIp}:5060"`, modules: ['uuid.so'], sipTrace: true };
  const before = await phone(t, lan, 'bob', { ...outbound, sipPort: 5747, ctrlPort: 4444 });
  await before.waitRegistered(10_000);
  const after = await phone(t, lan, 'bob', { ...outbound, sipPort: 5749, ctrlPort: 4445 });
  await after.waitRegistered(10_000);
  const sent = after.sipTrace().filter((m) => m.dir === 'tx' && m.method === 'REGISTER').at(-1);
  t.regex(sent?.text ?? '', /\+sip\.instance="<urn:uuid:[^>]+>";?[^\n]*reg-id=1/i, 'baresip names its instance and reg-id');
  const ok = after.sipTrace().filter((m) => m.dir === 'rx' && m.status === 200 && m.cseq.endsWith('REGISTER')).at(-1);
  const listed = (ok?.text ?? '').split('\n').filter((l) => /^(Contact|m)\s*:/i.test(l));
  t.is(listed.length, 1, `the 200 lists the current binding only:\n${listed.join('\n')}`);
  t.regex(listed[0] ?? '', /:5749[;>]/);
  t.is((await proxy.status()).bindings, 1);

  const alice = await phone(t, lan, 'alice', { user: 'alice', proxyIp, proxyPort: 5060 });
  await alice.waitRegistered(10_000);
  await callAndHangUp(t, alice, after, `sip:bob@${proxyIp}`);
  t.false(before.sipTrace().some((m) => m.dir === 'rx' && m.method === 'INVITE'), 'the old contact got no INVITE');
});
