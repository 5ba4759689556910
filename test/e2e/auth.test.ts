// Issue "Hardening", part 1: digest authentication against the real proxy process over UDP on
// loopback (RFC 3261 §22, RFC 7616, RFC 8760). Credentials are computed here with node:crypto
// (test/helpers/digestClient.ts), as a phone would, or by SIPp itself (MD5, the INVITE test).
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatUserLine, makeUserEntry } from '../../src/auth/users.js';
import { MAIN, startProxy, type RunningProxy } from '../helpers/proxy.js';
import { UdpClient } from '../helpers/udpClient.js';
import { freePort } from '../helpers/ports.js';
import { assertIdle, assertOk, callee, caller, newCallId, proxyFor, received, sent } from '../helpers/flows.js';
import { headers, sipMessages } from '../helpers/sipp.js';
import { challengeFor, challengesOf, credentials, type Algorithm } from '../helpers/digestClient.js';
import { callIdTextHash } from '../../src/cluster/callIdOwner.js';

const PASSWORDS: Record<string, string> = { alice: 'wonderland', bob: 'builder', '101': 'one', '102': 'two' };

/** A users file for realm 127.0.0.1 (the proxy's address, its default realm), removed at teardown. */
function usersFile(t: ExecutionContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-auth-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'users.txt');
  writeFileSync(file, Object.keys(PASSWORDS).map((n) => `${formatUserLine(makeUserEntry(n, '127.0.0.1', PASSWORDS[n]!))}\n`).join(''));
  return file;
}

async function authProxy(t: ExecutionContext, extra: string[] = []): Promise<RunningProxy> {
  return proxyFor(t, ['--users', usersFile(t), ...extra]);
}

async function client(t: ExecutionContext, host = '127.0.0.1'): Promise<UdpClient> {
  const c = await UdpClient.open(host);
  t.teardown(() => c.close());
  return c;
}

/** A phone registering `user`: one Call-ID, CSeq counting up, a new branch for each REGISTER (§10.2). */
function registeringPhone(proxy: RunningProxy, c: UdpClient, user: string, o: { aor?: string; contactPort?: number; host?: string; callId?: string } = {}) {
  const host = o.host ?? '127.0.0.1';
  const uri = `sip:127.0.0.1:${proxy.port}`;
  const callId = o.callId ?? `reg-${randomUUID()}`;
  let cseq = 0;
  /** Sends a REGISTER with these credentials lines (none: the first, unauthenticated one) and returns the final response. */
  const send = async (auth: string[] = []): Promise<string> => {
    const n = ++cseq;
    await c.send([
      `REGISTER ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${host}:${c.port};branch=z9hG4bK-${randomUUID()};rport`,
      'Max-Forwards: 70',
      `From: <sip:${user}@127.0.0.1>;tag=${callId.slice(4, 12)}`,
      `To: <sip:${o.aor ?? user}@127.0.0.1>`,
      `Call-ID: ${callId}`,
      `CSeq: ${n} REGISTER`,
      `Contact: <sip:${user}@${host}:${o.contactPort ?? c.port}>`,
      'Expires: 300',
      ...auth.map((a) => `Authorization: ${a}`),
      'Content-Length: 0',
      '', '',
    ].join('\r\n'), proxy.port);
    return c.waitFor(new RegExp(`^SIP/2\\.0 [2-6]\\d\\d [\\s\\S]*\\r\\nCSeq: ${n} REGISTER\\r\\n`));
  };
  const answer = (challenge: string, alg: Algorithm, o2: { password?: string; nc?: number } = {}) =>
    credentials({ alg, ch: challengeFor(challenge, alg), user, password: o2.password ?? PASSWORDS[user]!, method: 'REGISTER', uri, nc: o2.nc ?? 1 });
  return { send, answer };
}

const status = (r: string) => Number(r.slice(8, 11));

/** The proxy's output once it matches (its lines may come after the datagram they explain), failing after `ms`. */
async function outputMatching(t: ExecutionContext, proxy: RunningProxy, re: RegExp, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!re.test(proxy.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.regex(proxy.output(), re);
}

test('without --users the proxy says at start-up that anyone may register and call', async (t) => {
  const proxy = await proxyFor(t);
  await outputMatching(t, proxy, /warn: authentication is off \(no --users FILE\): anyone who can reach udp:127\.0\.0\.1:\d+ can register any name and call through this proxy/);
});

test('REGISTER: 401 offering SHA-256 then MD5; MD5 and SHA-256 credentials get 200; a wrong password 401s again', async (t) => {
  const proxy = await authProxy(t);
  t.regex(proxy.output(), /authentication on: 4 users in realm "127\.0\.0\.1"/);
  const c = await client(t);
  const phone = registeringPhone(proxy, c, '101');

  const challenge = await phone.send();
  t.is(status(challenge), 401, challenge);
  const offered = challengesOf(challenge);
  t.deepEqual(offered.map((o) => o.algorithm), ['SHA-256', 'MD5'], 'SHA-256 preferred, first (RFC 8760 §2.3)');
  t.true(offered.every((o) => o.realm === '127.0.0.1' && o.qop === 'auth' && !o.stale && o.nonce === offered[0]!.nonce));
  t.is((await proxy.status()).bindings, 0);

  const md5 = await phone.send([phone.answer(challenge, 'MD5', { nc: 1 })]);
  t.is(status(md5), 200, md5);
  t.regex(md5, new RegExp(`Contact: <sip:101@127\\.0\\.0\\.1:${c.port}>;expires=300`));
  const sha = await phone.send([phone.answer(challenge, 'SHA-256', { nc: 2 })]);
  t.is(status(sha), 200, sha);

  const wrong = await phone.send([phone.answer(challenge, 'SHA-256', { nc: 3, password: 'guess' })]);
  t.is(status(wrong), 401, wrong);
  t.false(challengesOf(wrong).some((o) => o.stale), 'a wrong password is not stale: the phone must ask its user');
  await outputMatching(t, proxy, /authentication failed from 127\.0\.0\.1 for 101: wrong password/);
  t.is((await proxy.status()).bindings, 1);
});

test('a replayed Authorization (same nonce and nc) is refused with stale=true; the next nc is accepted', async (t) => {
  const proxy = await authProxy(t);
  const c = await client(t);
  const phone = registeringPhone(proxy, c, '102');
  const challenge = await phone.send();
  const captured = phone.answer(challenge, 'SHA-256', { nc: 1 });
  t.is(status(await phone.send([captured])), 200);

  const replay = await phone.send([captured]);
  t.is(status(replay), 401, replay);
  t.true(challengesOf(replay).every((o) => o.stale), 'stale=true: a phone that knows the password retries at once');
  t.is(status(await phone.send([phone.answer(challenge, 'MD5', { nc: 2 })])), 200, 'the nonce itself is still good');
  t.notRegex(proxy.output(), /authentication failed/, 'a replay is not counted as a guess');
});

test('registering someone else\'s address-of-record gets 403', async (t) => {
  const proxy = await authProxy(t);
  const c = await client(t);
  const phone = registeringPhone(proxy, c, '101', { aor: '102' });
  const challenge = await phone.send();
  t.is(status(challenge), 401);
  const forbidden = await phone.send([phone.answer(challenge, 'MD5')]);
  t.regex(forbidden, /^SIP\/2\.0 403 Forbidden \(not your address-of-record\)\r\n/);
  t.is((await proxy.status()).bindings, 0);
});

test('INVITE from an unauthenticated caller gets 407; with credentials the call goes through and the callee answers', async (t) => {
  // SIPp answers only the topmost challenge, with MD5: offer MD5 first, as for such phones.
  const proxy = await authProxy(t, ['--auth-algorithms', 'md5,sha-256']);
  // bob: a SIPp callee whose registration the test makes, with credentials; SIPp matches the
  // caller's INVITE to it by Call-ID.
  const bobPort = await freePort();
  const callId = newCallId('auth');
  const bob = await callee(t, proxy, { scenario: 'callee-answer.xml', service: 'bob', callId, port: bobPort, set: { noreg: '1' } });
  const reg = registeringPhone(proxy, await client(t), 'bob', { contactPort: bobPort });
  t.is(status(await reg.send([reg.answer(await reg.send(), 'SHA-256')])), 200);

  // alice (SIPp): INVITE, 407, ACK, INVITE with SIPp's own MD5 credentials (test/sipp/caller-auth.xml).
  // -auth_uri: SIPp hashes the proxy's address as the digest-uri unless told the Request-URI,
  // which the proxy requires (RFC 2617 §3.2.2.5).
  const auth = ['-au', 'alice', '-ap', PASSWORDS.alice!, '-auth_uri', 'bob@127.0.0.1'];
  const a = await caller(proxy, { scenario: 'caller-auth.xml', service: 'bob', callId, args: auth });
  assertOk(t, a, proxy);
  assertOk(t, await bob.done, proxy);
  const challenge = sipMessages(a.messages).find((m) => m.dir === 'received' && m.first.startsWith('SIP/2.0 407 '));
  t.truthy(challenge, 'the first INVITE was challenged');
  t.deepEqual(headers(challenge!, 'Proxy-Authenticate').map((v) => /algorithm=([\w-]+)/.exec(v)?.[1]), ['MD5', 'SHA-256']);
  t.true(headers(challenge!, 'Proxy-Authenticate').every((v) => v.includes('realm="127.0.0.1"') && v.includes('qop="auth"')));
  t.regex(sent(a, 'INVITE')[1]!.text, /Proxy-Authorization: Digest username="alice",realm="127\.0\.0\.1"/, 'SIPp answered it');
  const got = received(await bob.done, 'INVITE');
  t.is(got.length, 1, 'only the INVITE with credentials reached bob');
  t.false(got[0]!.text.includes('realm="127.0.0.1"'), 'our realm\'s Proxy-Authorization was consumed (§22.3)');
  t.true(got[0]!.text.includes('realm="carrier.example"'), 'another realm\'s credentials go on');
  await assertIdle(t, proxy);
});

test('password guessing gets the source banned; first REGISTERs without credentials do not', async (t) => {
  const proxy = await authProxy(t, ['--auth-failures', '3']);
  // Phones from 127.0.0.7: ten unauthenticated REGISTERs, all challenged, none counted.
  const phones = await client(t, '127.0.0.7');
  for (let i = 0; i < 10; i++) t.is(status(await registeringPhone(proxy, phones, `10${i % 2 + 1}`, { host: '127.0.0.7' }).send()), 401);
  // A guesser from 127.0.0.6: the fourth wrong password in a minute is one too many.
  const guesser = await client(t, '127.0.0.6');
  const g = registeringPhone(proxy, guesser, '101', { host: '127.0.0.6' });
  const challenge = await g.send();
  for (let i = 1; i <= 4; i++) t.is(status(await g.send([g.answer(challenge, 'MD5', { password: `guess${i}`, nc: i })])), 401);
  const s = await proxy.status();
  t.is(s.bannedSources, 1, JSON.stringify(s));
  await outputMatching(t, proxy, /banned 127\.0\.0\.6 until .* \(failed authentications\)/);
  await t.throwsAsync(g.send([g.answer(challenge, 'MD5', { nc: 5 })]), { message: /no datagram matching/ }, 'even the right password: the source is dropped');
  t.is(status(await registeringPhone(proxy, phones, '102', { host: '127.0.0.7' }).send()), 401, 'other sources are still served');
});

test('--workers 2: failed authentications count for the whole proxy, though the guesses reach different workers', async (t) => {
  const proxy = await authProxy(t, ['--auth-failures', '3', '--workers', '2']);
  // A new Call-ID for every guess, two owned by each worker (src/cluster/callIdOwner.ts): counted
  // in each worker, three failures would never be more than two.
  const owned = (w: number) => {
    for (;;) {
      const id = `guess-${randomUUID()}`;
      if (callIdTextHash(id) % 2 === w) return id;
    }
  };
  const guesser = await client(t, '127.0.0.6');
  for (const [i, w] of [0, 1, 0, 1].entries()) {
    const g = registeringPhone(proxy, guesser, '101', { host: '127.0.0.6', callId: owned(w) });
    const challenge = await g.send();
    t.is(status(await g.send([g.answer(challenge, 'MD5', { password: `guess${i}` })])), 401);
  }
  await outputMatching(t, proxy, /banned 127\.0\.0\.6 until .* \(failed authentications\)/);
  t.is(proxy.output().match(/banned 127\.0\.0\.6/g)?.length, 1, 'journaled once');
  // The primary tells every worker; a busy worker (its start-up warm-up, with --warm-up) may read
  // the ban a few milliseconds after the primary logged it.
  const everyWorkerHolds = async () => ((await proxy.status()) as unknown as { workers: Array<{ bannedSources: number }> }).workers.every((w) => w.bannedSources === 1);
  for (const deadline = Date.now() + 5000; !(await everyWorkerHolds()) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
  t.true(await everyWorkerHolds(), 'every worker holds the ban');
  for (const w of [0, 1]) {
    await t.throwsAsync(registeringPhone(proxy, guesser, '101', { host: '127.0.0.6', callId: owned(w) }).send(), { message: /no datagram matching/ }, `worker ${w} drops the banned source`);
  }
  const phones = await client(t, '127.0.0.7');
  t.is(status(await registeringPhone(proxy, phones, '102', { host: '127.0.0.7' }).send()), 401, 'other sources are still served');
});

/**
 * Guessing 101's password from three addresses (each banned) locks 101; the phone that registered
 * from 127.0.0.1 before goes on registering with its right password, while 127.0.0.5 with the
 * same password is refused 403. With workers, the phone's REGISTERs take Call-IDs of each worker:
 * the one that saw its first success, and one that knows its address only from the primary.
 */
async function lockSparesThePhone(t: ExecutionContext, workers: number): Promise<void> {
  const proxy = await authProxy(t, ['--auth-failures', '3', ...(workers > 1 ? ['--workers', String(workers)] : [])]);
  const owned = (w: number) => {
    for (;;) {
      const id = `lock-${randomUUID()}`;
      if (callIdTextHash(id) % workers === w) return id;
    }
  };
  /** A REGISTER of 101 from `c` on a fresh Call-ID of worker `w`: challenged, then answered with `password`. */
  const register101 = async (c: UdpClient, host: string, password: string, w = 0) => {
    const phone = registeringPhone(proxy, c, '101', { host, callId: owned(w) });
    const challenge = await phone.send();
    t.is(status(challenge), 401);
    return status(await phone.send([phone.answer(challenge, 'MD5', { password })]));
  };
  const phone = await client(t, '127.0.0.1');
  t.is(await register101(phone, '127.0.0.1', PASSWORDS['101']!), 200, 'the phone registers before the guessing');
  // Four wrong passwords from each of three addresses: 127.0.0.2 and .3 banned (over 3), and 101
  // locked at its 10th failure (over 3 × 3); the guesses after that meet the lock (403, not counted).
  for (const host of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) {
    const c = await client(t, host);
    for (let i = 0; i < 4; i++) t.true([401, 403].includes(await register101(c, host, `guess${i}`, i % workers)));
  }
  await outputMatching(t, proxy, /banned 127\.0\.0\.3 until .* \(failed authentications\)/);
  const other = await client(t, '127.0.0.5');
  // With workers the lock reaches them from the primary a few milliseconds after the guesses:
  // waited for on every worker first, since a right password from an address before the lock
  // arrives makes that address the user's own, spared by the lock from then on.
  const lockedEverywhere = async () => {
    const s = await proxy.status();
    const each = (s as { workers?: Array<{ lockedUsers: number }> }).workers ?? [s];
    return each.every((w) => w.lockedUsers >= 1);
  };
  for (const deadline = Date.now() + 5000; Date.now() < deadline && !(await lockedEverywhere());) await new Promise((r) => setTimeout(r, 20));
  t.true(await lockedEverywhere(), 'the lock reached every worker');
  t.is(await register101(other, '127.0.0.5', PASSWORDS['101']!, workers - 1), 403, 'another address with the right password: locked');
  for (let w = 0; w < workers; w++) {
    t.is(await register101(other, '127.0.0.5', PASSWORDS['101']!, w), 403, `worker ${w} holds the lock`);
    t.is(await register101(phone, '127.0.0.1', PASSWORDS['101']!, w), 200, `worker ${w}: the phone's address is spared`);
  }
  t.is(await register101(phone, '127.0.0.1', 'guess'), 401, 'a wrong password from there is still wrong');
  t.true((await proxy.status()).bannedSources >= 2);
}

test('a user locked by guessing from three addresses still registers from the address its phone authenticated from; another address gets 403', (t) => lockSparesThePhone(t, 1));
test('--workers 2: the lock spares the phone\'s address on every worker, also on the one that never saw it authenticate', (t) => lockSparesThePhone(t, 2));

/** `sipstate user add ...` as a process, the password piped on stdin. */
function userAdd(args: string[], input: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'user', 'add', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(input);
  });
}

test('`sipstate user add` with the password piped on stdin writes a users file the proxy accepts, also while it runs', async (t) => {
  t.timeout(30_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'sipstate-useradd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'users.txt');
  const added = await userAdd(['alice', '--users', file, '--host', '127.0.0.1'], 'wonderland\n');
  t.is(added.code, 0, added.out);
  t.is(added.out, `added user alice in realm 127.0.0.1 to ${file}\n`);
  t.is(statSync(file).mode & 0o777, 0o600);
  t.false(readFileSync(file, 'utf8').includes('wonderland'), 'only the HA1s are stored');

  const proxy = await startProxy({ args: ['--users', file] });
  t.teardown(() => proxy.stop());
  const alice = registeringPhone(proxy, await client(t), 'alice');
  t.is(status(await alice.send([alice.answer(await alice.send(), 'MD5')])), 200);

  // Added while the proxy runs: the file is reloaded when it changes.
  const bobAdded = await userAdd(['bob', '--users', file, '--realm', '127.0.0.1'], 'builder\n');
  t.is(bobAdded.code, 0, bobAdded.out);
  await outputMatching(t, proxy, /users file reloaded: 2 users in realm "127\.0\.0\.1"/);
  const bob = registeringPhone(proxy, await client(t), 'bob');
  t.is(status(await bob.send([bob.answer(await bob.send(), 'SHA-256')])), 200);

  const empty = await userAdd(['carol', '--users', file], '');
  t.is(empty.code, 1);
  t.regex(empty.out, /empty password: nothing written/);
});
