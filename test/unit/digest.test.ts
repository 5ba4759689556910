// Digest authentication (RFC 3261 §22, RFC 7616, RFC 8760): the hashes against the RFCs' worked
// examples, credentials parsing, challenges, nonces (expiry, nonce-count) and the Authenticator.
import test from 'ava';
import {
  algorithmOf, buildChallenges, digestResponse, ha1, parseDigestCredentials, responseMatches,
} from '../../src/auth/digest.js';
import { NonceStore, parseNonceCount } from '../../src/auth/nonces.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { makeUserEntry, type Users } from '../../src/auth/users.js';
import { getHeaderValues, type SipRequest } from '../../src/sip/message.js';
import { msg } from '../helpers/messages.js';
import { challengeFor, credentials, type Algorithm } from '../helpers/digestClient.js';

// ---- RFC 7616 §3.9.1 (and RFC 2617 §3.5): known answers ----

const RFC7616 = {
  username: 'Mufasa', realm: 'http-auth@example.org', password: 'Circle of Life', method: 'GET', uri: '/dir/index.html',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ', nc: '00000001', qop: 'auth',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
};
const RFC7616_RESPONSE: Record<Algorithm, string> = {
  'SHA-256': '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
  MD5: '8ca523f5e9506fed4657c9700eebdbec',
};

for (const algorithm of ['SHA-256', 'MD5'] as const) {
  test(`RFC 7616 §3.9.1 worked example, ${algorithm}`, (t) => {
    const e = RFC7616;
    const response = digestResponse({ algorithm, ha1: ha1(algorithm, e.username, e.realm, e.password), method: e.method, uri: e.uri, nonce: e.nonce, qop: e.qop, nc: e.nc, cnonce: e.cnonce });
    t.is(response, RFC7616_RESPONSE[algorithm]);
    // The Authorization header of the example, as a client writes it (line breaks and all).
    const c = parseDigestCredentials(`Digest username="Mufasa",\r\n realm="http-auth@example.org",\r\n uri="/dir/index.html",\r\n algorithm=${algorithm},\r\n` +
      ` nonce="${e.nonce}",\r\n nc=00000001,\r\n cnonce="${e.cnonce}",\r\n qop=auth,\r\n response="${response}",\r\n opaque="${e.opaque}"`);
    t.truthy(c);
    t.is(c!.algorithm, algorithm);
    t.true(responseMatches(c!, algorithm, ha1(algorithm, e.username, e.realm, e.password), 'GET'));
    t.false(responseMatches(c!, algorithm, ha1(algorithm, e.username, e.realm, 'circle of life'), 'GET'), 'another password');
    t.false(responseMatches(c!, algorithm, ha1(algorithm, e.username, e.realm, e.password), 'POST'), 'the method is hashed in (A2)');
  });
}

test('RFC 2617 §3.5 example (MD5, qop=auth) and its RFC 2069 form without qop', (t) => {
  const h = ha1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
  const nonce = 'dcd98b7102dd2f0e8b11d0f600bfb0c093';
  t.is(digestResponse({ algorithm: 'MD5', ha1: h, method: 'GET', uri: '/dir/index.html', nonce, qop: 'auth', nc: '00000001', cnonce: '0a4f113b' }), '6629fae49393a05397450978507c4ef1');
  t.is(digestResponse({ algorithm: 'MD5', ha1: h, method: 'GET', uri: '/dir/index.html', nonce }), '670fd8c2df070c60b045671b8b24ff02');
});

// ---- parsing credentials (RFC 3261 §25.1 digest-response) ----

test('credentials: quoted-strings with commas and escapes, names and scheme in any case', (t) => {
  const c = parseDigestCredentials('digest USERNAME="a\\"b", Realm="x, y", nonce=n1, uri="sip:bob@h", response="ab", qop=auth, nc=00000002, cnonce="c", foo=bar');
  t.truthy(c);
  t.is(c!.username, 'a"b');
  t.is(c!.realm, 'x, y');
  t.is(c!.nonce, 'n1');
  t.is(c!.nc, '00000002');
  t.is(c!.algorithm, null, 'absent: MD5 (RFC 7616 §3.3)');
  t.is(c!.params.get('foo'), 'bar', 'unknown parameters are kept, not refused');
});

test('credentials: malformed or incomplete ones are refused', (t) => {
  const ok = 'username="u", realm="r", nonce="n", uri="sip:h", response="ab"';
  t.truthy(parseDigestCredentials(`Digest ${ok}`));
  for (const bad of [
    `Basic ${ok}`,
    'Digest realm="r", nonce="n", uri="sip:h", response="ab"', // no username
    `Digest ${ok}, qop=auth`, // qop without nc and cnonce (RFC 7616 §3.4)
    `Digest ${ok}, realm="again"`, // a parameter twice (RFC 7235 §2.1)
    'Digest username="u, realm="r"', // unterminated quoted-string
    `Digest ${ok} junk`,
    'Digest',
  ]) t.is(parseDigestCredentials(bad), null, bad);
});

test('algorithms: MD5 and SHA-256 in any case; -sess and others are not offered', (t) => {
  t.is(algorithmOf(null), 'MD5');
  t.is(algorithmOf('md5'), 'MD5');
  t.is(algorithmOf('sha-256'), 'SHA-256');
  t.is(algorithmOf('MD5-sess'), null);
  t.is(algorithmOf('SHA-512-256'), null);
});

test('challenges: SHA-256 first, then MD5 by default (RFC 8760 §2.3), same nonce, qop="auth", stale only when asked', (t) => {
  const [sha, md5] = buildChallenges({ realm: 'a"b', nonce: 'N', opaque: 'O' });
  t.is(sha, 'Digest realm="a\\"b", nonce="N", opaque="O", algorithm=SHA-256, qop="auth"');
  t.is(md5, 'Digest realm="a\\"b", nonce="N", opaque="O", algorithm=MD5, qop="auth"');
  t.true(buildChallenges({ realm: 'r', nonce: 'N', opaque: 'O', stale: true }).every((c) => c.endsWith(', stale=true')));
  t.deepEqual(buildChallenges({ realm: 'r', nonce: 'N', opaque: 'O', algorithms: ['MD5'] }), ['Digest realm="r", nonce="N", opaque="O", algorithm=MD5, qop="auth"']);
});

// ---- nonces (RFC 7616 §3.3, §5.4, §5.5) ----

function clock(start = 1_000_000) {
  const c = { now: start };
  return { c, now: () => c.now };
}

test('nonces: ours and fresh is ok; another server\'s, a tampered or a garbled one is not ours', (t) => {
  const { now } = clock();
  const store = new NonceStore({ now, ttlMs: 1000 });
  const n = store.issue();
  t.is(store.check(n), 'ok');
  t.not(store.issue(), n, 'each challenge gets its own');
  t.is(new NonceStore({ now }).check(n), 'bad-nonce', 'another secret (another server, or before a restart)');
  const flipped = n.slice(0, 5) + (n[5] === 'A' ? 'B' : 'A') + n.slice(6);
  t.is(store.check(flipped), 'bad-nonce', 'a changed timestamp or random part breaks the HMAC');
  for (const g of ['', 'abc', n + 'x', n.replace(/./, '$')]) t.is(store.check(g), 'bad-nonce', g);
});

test('nonces: past their lifetime they are stale (RFC 7616 §3.3 stale=true)', (t) => {
  const { c, now } = clock();
  const store = new NonceStore({ now, ttlMs: 1000 });
  const n = store.issue();
  c.now += 1000;
  t.is(store.check(n), 'ok');
  c.now += 1;
  t.is(store.check(n), 'stale');
});

test('nonce-count: each must be higher than the last accepted, so a replay is refused (RFC 7616 §3.4, §5.5)', (t) => {
  const { c, now } = clock();
  const store = new NonceStore({ now, ttlMs: 60_000 });
  const n = store.issue();
  t.true(store.accept(n, 1));
  t.false(store.accept(n, 1), 'the same nc again: a replay');
  t.true(store.accept(n, 3), 'a gap is fine (requests may be lost)');
  t.false(store.accept(n, 2), 'lower than the last: a replay of an older one');
  t.is(store.tracked, 1);
  c.now += 61_001;
  t.true(store.accept(store.issue(), 1));
  t.is(store.tracked, 1, 'expired nonces are forgotten');
});

test('nonces: when the table is full, an evicted nonce is stale rather than replayable', (t) => {
  const { c, now } = clock();
  const store = new NonceStore({ now, ttlMs: 60_000, maxTracked: 2 });
  const issued = [0, 1, 2].map(() => (c.now++, store.issue()));
  for (const n of issued) t.true(store.accept(n, 1));
  t.is(store.tracked, 2);
  t.is(store.check(issued[0]!), 'stale', 'forgotten: might have been used, so not trusted');
  t.is(store.check(issued[1]!), 'ok');
  t.false(store.accept(issued[1]!, 1));
  t.is(store.check(store.issue()), 'ok', 'newer nonces are unaffected');
});

test('nc values are 8 hex digits, not zero', (t) => {
  t.is(parseNonceCount('00000001'), 1);
  t.is(parseNonceCount('0000001a'), 26);
  t.is(parseNonceCount('00000000'), null);
  t.is(parseNonceCount('1'), null);
  t.is(parseNonceCount('0000000g'), null);
});

// ---- the Authenticator: who is the user? ----

const REALM = '10.0.0.9';
const users: Users = new Map([['101', [makeUserEntry('101', REALM, 'one')]]]);
const RURI = 'sip:10.0.0.9';

function register(auth?: string | string[], uri = RURI): SipRequest {
  const lines = auth === undefined ? [] : Array.isArray(auth) ? auth : [auth];
  return msg(`REGISTER ${uri} SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKr1
From: <sip:101@10.0.0.9>;tag=1
To: <sip:101@10.0.0.9>
Call-ID: r1
CSeq: 1 REGISTER
${lines.map((l) => `Authorization: ${l}\n`).join('')}
`) as SipRequest;
}

function setup(ttlMs = 60_000) {
  const { c, now } = clock();
  const auth = new Authenticator({ users, realm: REALM, now, nonceTtlMs: ttlMs });
  const challenge = (alg: Algorithm) => challengeFor(`SIP/2.0 401 x\r\n${auth.challenge('www').map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n`, alg);
  const creds = (alg: Algorithm, o: { password?: string; user?: string; nc?: number; uri?: string } = {}) =>
    credentials({ alg, ch: challenge(alg), user: o.user ?? '101', password: o.password ?? 'one', method: 'REGISTER', uri: o.uri ?? RURI, nc: o.nc ?? 1 });
  return { c, auth, challenge, creds };
}

test('authenticator: right SHA-256 and MD5 credentials name the user', (t) => {
  const { auth, creds } = setup();
  t.deepEqual(auth.check(register(creds('SHA-256')), 'www'), { ok: true, user: '101' });
  t.deepEqual(auth.check(register(creds('MD5')), 'www'), { ok: true, user: '101' });
});

test('authenticator: a challenge is one WWW-Authenticate (or Proxy-Authenticate) line per algorithm', (t) => {
  const { auth } = setup();
  const www = auth.challenge('www');
  t.deepEqual(www.map(([n]) => n), ['WWW-Authenticate', 'WWW-Authenticate']);
  t.regex(www[0]![1], /algorithm=SHA-256/);
  t.regex(www[1]![1], /algorithm=MD5/);
  t.deepEqual(auth.challenge('proxy', { stale: true }).map(([n, v]) => [n, v.endsWith('stale=true')]), [['Proxy-Authenticate', true], ['Proxy-Authenticate', true]]);
});

test('authenticator: --auth-algorithms sets what is offered, in that order, and what is accepted', (t) => {
  const md5First = new Authenticator({ users, realm: REALM, algorithms: ['MD5', 'SHA-256'] });
  t.deepEqual(md5First.challenge('www').map(([, v]) => /algorithm=([\w-]+)/.exec(v)![1]), ['MD5', 'SHA-256'], 'for phones that read only the topmost');
  const md5Only = new Authenticator({ users, realm: REALM, algorithms: ['MD5'] });
  const [only] = md5Only.challenge('www');
  t.regex(only![1], /algorithm=MD5/);
  const ch = challengeFor(`SIP/2.0 401 x\r\nWWW-Authenticate: ${only![1]}\r\n\r\n`, 'MD5');
  const sha = credentials({ alg: 'SHA-256', ch: { ...ch, algorithm: 'SHA-256' }, user: '101', password: 'one', method: 'REGISTER', uri: RURI });
  t.like(md5Only.check(register(sha), 'www'), { ok: false, reason: 'unsupported' }, 'an algorithm not offered');
  t.true(md5Only.check(register(credentials({ alg: 'MD5', ch, user: '101', password: 'one', method: 'REGISTER', uri: RURI })), 'www').ok);
});

test('authenticator: failures and what they tell the phone', (t) => {
  const { auth, creds } = setup();
  t.deepEqual(auth.check(register(), 'www'), { ok: false, stale: false, reason: 'missing', user: null });
  t.deepEqual(auth.check(register(creds('MD5', { password: 'two' })), 'www'), { ok: false, stale: false, reason: 'bad-response', user: '101' });
  t.deepEqual(auth.check(register(creds('SHA-256', { user: '999' })), 'www'), { ok: false, stale: false, reason: 'unknown-user', user: '999' });
  t.like(auth.check(register(creds('MD5', { uri: 'sip:elsewhere' })), 'www'), { ok: false, reason: 'uri-mismatch' });
  t.like(auth.check(register(creds('MD5').replace('qop=auth', 'qop=auth-int')), 'www'), { ok: false, reason: 'unsupported' });
  t.like(auth.check(register(creds('MD5').replace('algorithm=MD5', 'algorithm=MD5-sess')), 'www'), { ok: false, reason: 'unsupported' });
  t.like(auth.check(register('Digest nonsense'), 'www'), { ok: false, reason: 'malformed' });
  // §22.3: credentials for another realm are not ours to check.
  t.like(auth.check(register(creds('MD5').replace(`realm="${REALM}"`, 'realm="other"')), 'www'), { ok: false, reason: 'missing' });
  t.like(auth.check(register(creds('MD5')), 'proxy'), { ok: false, reason: 'missing' }, 'a 407 is answered in Proxy-Authorization');
});

test('authenticator: a replayed Authorization (same nonce and nc) is refused with stale=true', (t) => {
  const { auth, creds } = setup();
  const a = creds('SHA-256');
  t.true(auth.check(register(a), 'www').ok);
  t.deepEqual(auth.check(register(a), 'www'), { ok: false, stale: true, reason: 'replay', user: '101' });
});

test('authenticator: an expired nonce with the right password is stale; with a wrong one, a failure', (t) => {
  const { c, auth, creds } = setup(1000);
  const right = creds('MD5');
  const wrong = creds('MD5', { password: 'x' });
  c.now += 1001;
  t.deepEqual(auth.check(register(right), 'www'), { ok: false, stale: true, reason: 'stale', user: '101' });
  t.like(auth.check(register(wrong), 'www'), { ok: false, stale: false, reason: 'bad-response' });
});

test('authenticator: a nonce it never issued (forged, or from before a restart) is refused as stale', (t) => {
  const { auth } = setup();
  const other = new Authenticator({ users, realm: REALM });
  const ch = challengeFor(`SIP/2.0 401 x\r\n${other.challenge('www').map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n`, 'MD5');
  const a = credentials({ alg: 'MD5', ch, user: '101', password: 'one', method: 'REGISTER', uri: RURI });
  t.deepEqual(auth.check(register(a), 'www'), { ok: false, stale: true, reason: 'bad-nonce', user: '101' });
});

test('authenticator: the users file can be swapped while nonces in flight stay valid', (t) => {
  const { auth, creds } = setup();
  const a = creds('MD5');
  auth.setUsers(new Map([['101', [makeUserEntry('101', REALM, 'new')]]]));
  t.like(auth.check(register(a), 'www'), { ok: false, reason: 'bad-response' });
  t.true(auth.check(register(creds('MD5', { password: 'new', nc: 2 })), 'www').ok);
});

test('consuming credentials removes only our realm\'s Proxy-Authorization (RFC 3261 §22.3)', (t) => {
  const { auth } = setup();
  const ours = `Digest username="101", realm="${REALM}", nonce="n", uri="sip:x", response="ab"`;
  const theirs = 'Digest username="101", realm="carrier", nonce="n", uri="sip:x", response="ab"';
  const req = msg(`INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKi1
From: <sip:101@10.0.0.9>;tag=1
To: <sip:bob@example.com>
Call-ID: i1
CSeq: 1 INVITE
Proxy-Authorization: ${ours}
Proxy-Authorization: ${theirs}
Authorization: ${ours}

`) as SipRequest;
  const out = auth.consumeCredentials(req, 'proxy');
  t.deepEqual(getHeaderValues(out, 'proxy-authorization'), [theirs]);
  t.deepEqual(getHeaderValues(out, 'authorization'), [ours], 'Authorization is for the far end, not for us');
  t.is(auth.consumeCredentials(out, 'proxy'), out, 'nothing of ours: the same request');
});
