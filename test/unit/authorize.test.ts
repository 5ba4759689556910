// Which requests need credentials, and the answer when they are missing or wrong (RFC 3261 §22,
// src/proxy/authorize.ts): 401 for REGISTER, 407 for requests from our domain, 403 for another's
// address-of-record, a locked user, or relaying for strangers; failed guesses counted per source.
import test from 'ava';
import { authorizeRequest, type AuthFailureCounter, type Authorization } from '../../src/proxy/authorize.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { makeUserEntry } from '../../src/auth/users.js';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import { preprocessRoute } from '../../src/proxy/routePreprocess.js';
import { messageInfo } from '../../src/sip/info.js';
import { getHeaderValues, type SipRequest } from '../../src/sip/message.js';
import { msg } from '../helpers/messages.js';
import { challengeFor, credentials, type Algorithm } from '../helpers/digestClient.js';
import { SourceGuard } from '../../src/security/sourceGuard.js';

const me = new LocalIdentity({ host: '10.0.0.9', port: 5060 });
const REALM = '10.0.0.9';
const SOURCE = '10.0.0.1';

function setup(locked: string[] = [], real?: SourceGuard) {
  const authenticator = new Authenticator({
    realm: REALM,
    users: new Map([['101', [makeUserEntry('101', REALM, 'one')]], ['102', [makeUserEntry('102', REALM, 'two')]]]),
  });
  const failures: Array<[string, string | null]> = [];
  const guard: AuthFailureCounter = real ?? { authFailed: (s, u) => void failures.push([s, u]), authSucceeded: () => {}, userLocked: (u) => locked.includes(u) };
  const authorize = (req: SipRequest, source = SOURCE): Authorization => {
    const i = messageInfo(req);
    if (!i.ok) throw new Error(i.error);
    return authorizeRequest(req, preprocessRoute(req, me), i.info, { authenticator, me, guard, source });
  };
  /** Credentials for a request line, answering a fresh challenge of ours. */
  const creds = (kind: 'www' | 'proxy', method: string, uri: string, o: { user?: string; password?: string; alg?: Algorithm } = {}) => {
    const ch = challengeFor(`SIP/2.0 401 x\r\n${authenticator.challenge(kind).map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\n`, o.alg ?? 'SHA-256');
    return credentials({ alg: o.alg ?? 'SHA-256', ch, user: o.user ?? '101', password: o.password ?? 'one', method, uri });
  };
  return { authorize, creds, failures };
}

function request(method: string, uri: string, o: { from?: string; to?: string; toTag?: boolean; extra?: string[] } = {}): SipRequest {
  return msg(`${method} ${uri} SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK${method}1
Max-Forwards: 70
From: <${o.from ?? 'sip:101@10.0.0.9'}>;tag=f1
To: <${o.to ?? 'sip:102@10.0.0.9'}>${o.toTag ? ';tag=t1' : ''}
Call-ID: a1
CSeq: 1 ${method}
${(o.extra ?? []).map((l) => `${l}\n`).join('')}
`) as SipRequest;
}

const register = (extra: string[] = [], to = 'sip:101@10.0.0.9', toTag = false) =>
  request('REGISTER', 'sip:10.0.0.9', { from: to, to, extra, toTag });

function rejected(t: { is(a: unknown, b: unknown, m?: string): void; fail(m: string): void }, a: Authorization, status: number) {
  if (a.ok) return t.fail(`expected ${status}, got through`);
  t.is(a.rejection.status, status);
  return a.rejection;
}

test('REGISTER without credentials: 401 with SHA-256 and MD5 challenges; not a failure', (t) => {
  const { authorize, failures } = setup();
  const r = rejected(t, authorize(register()), 401);
  t.deepEqual(r?.headers?.map(([n, v]) => [n, /algorithm=([\w-]+)/.exec(v)![1]]), [['WWW-Authenticate', 'SHA-256'], ['WWW-Authenticate', 'MD5']]);
  t.deepEqual(failures, [], 'every phone sends its first REGISTER without credentials');
});

test('REGISTER with right credentials (SHA-256 or MD5) goes to the registrar unchanged', (t) => {
  const { authorize, creds } = setup();
  for (const alg of ['SHA-256', 'MD5'] as const) {
    const req = register([`Authorization: ${creds('www', 'REGISTER', 'sip:10.0.0.9', { alg })}`]);
    t.deepEqual(authorize(req), { ok: true, request: req }, alg);
  }
});

test('REGISTER with a wrong password, or a user not in the file: 401 again, counted against the source and the user', (t) => {
  const { authorize, creds, failures } = setup();
  rejected(t, authorize(register([`Authorization: ${creds('www', 'REGISTER', 'sip:10.0.0.9', { password: 'guess' })}`])), 401);
  rejected(t, authorize(register([`Authorization: ${creds('www', 'REGISTER', 'sip:10.0.0.9', { user: 'admin' })}`], 'sip:admin@10.0.0.9')), 401);
  t.deepEqual(failures, [[SOURCE, '101'], [SOURCE, 'admin']]);
});

test('REGISTER for another user\'s address-of-record: 403 (§10.3 step 3), even with a To tag', (t) => {
  const { authorize, creds } = setup();
  const r = rejected(t, authorize(register([`Authorization: ${creds('www', 'REGISTER', 'sip:10.0.0.9')}`], 'sip:102@10.0.0.9')), 403);
  t.is(r?.reason, 'Forbidden (not your address-of-record)');
  rejected(t, authorize(register([], 'sip:101@10.0.0.9', true)), 401);
  const escaped = register([`Authorization: ${creds('www', 'REGISTER', 'sip:10.0.0.9')}`], 'sip:%31%30%31@10.0.0.9');
  t.true(authorize(escaped).ok, 'the user part compares %-decoded, as the registrar keys it');
});

test('INVITE, MESSAGE, SUBSCRIBE, REFER from our domain: 407 with Proxy-Authenticate', (t) => {
  const { authorize } = setup();
  for (const m of ['INVITE', 'MESSAGE', 'SUBSCRIBE', 'REFER', 'OPTIONS']) {
    const r = rejected(t, authorize(request(m, 'sip:102@10.0.0.9')), 407);
    t.deepEqual(r?.headers?.map(([n]) => n), ['Proxy-Authenticate', 'Proxy-Authenticate'], m);
  }
  rejected(t, authorize(request('INVITE', 'sip:bob@example.com')), 407);
});

test('INVITE with credentials goes on without our realm\'s Proxy-Authorization, keeping another realm\'s (§22.3)', (t) => {
  const { authorize, creds } = setup();
  const theirs = 'Digest username="101", realm="carrier", nonce="n", uri="sip:102@10.0.0.9", response="ab"';
  const req = request('INVITE', 'sip:102@10.0.0.9', { extra: [`Proxy-Authorization: ${creds('proxy', 'INVITE', 'sip:102@10.0.0.9')}`, `Proxy-Authorization: ${theirs}`] });
  const a = authorize(req);
  if (!a.ok) return t.fail(`rejected ${a.rejection.status}`);
  t.deepEqual(getHeaderValues(a.request, 'proxy-authorization'), [theirs]);
  t.deepEqual(a.request.headers.filter((h) => h.key !== 'proxy-authorization'), req.headers.filter((h) => h.key !== 'proxy-authorization'));
});

test('INVITE whose From is another of our users than the authenticated one: 403', (t) => {
  const { authorize, creds } = setup();
  const req = request('INVITE', 'sip:101@10.0.0.9', { from: 'sip:102@10.0.0.9', extra: [`Proxy-Authorization: ${creds('proxy', 'INVITE', 'sip:101@10.0.0.9')}`] });
  t.is(rejected(t, authorize(req), 403)?.reason, 'Forbidden (From is not the authenticated user)');
});

test('in-dialog requests (To tag) and the keep-alive OPTIONS to the proxy are not challenged', (t) => {
  const { authorize } = setup();
  for (const m of ['BYE', 'INVITE', 'NOTIFY', 'REFER', 'INFO']) {
    const req = request(m, 'sip:102@10.0.0.2:5060', { toTag: true, extra: ['Route: <sip:10.0.0.9:5060;lr>'] });
    t.true(authorize(req).ok, m);
  }
  t.true(authorize(request('OPTIONS', 'sip:10.0.0.9')).ok);
});

test('from another domain: our users may be called, anything else is relaying (403)', (t) => {
  const { authorize, failures } = setup();
  const inbound = request('INVITE', 'sip:102@10.0.0.9', { from: 'sip:alice@example.com' });
  t.deepEqual(authorize(inbound), { ok: true, request: inbound });
  t.is(rejected(t, authorize(request('INVITE', 'sip:bob@example.org', { from: 'sip:alice@example.com' })), 403)?.reason, 'Forbidden (relaying denied)');
  t.is(rejected(t, authorize(request('MESSAGE', 'sip:102@10.0.0.9', { from: 'sip:alice@example.com', extra: ['Route: <sip:10.0.0.7;lr>'] })), 403)?.reason,
    'Forbidden (relaying denied)', 'a Route elsewhere is not for us');
  t.deepEqual(failures, []);
});

test('a digest uri that is not the Request-URI gets 400, right or wrong password, and is not counted as a guess (RFC 2617 §3.2.2.5)', (t) => {
  const { authorize, creds, failures } = setup();
  for (const password of ['one', 'guess']) {
    const r = rejected(t, authorize(register([`Authorization: ${creds('www', 'REGISTER', 'sip:elsewhere.example', { password })}`])), 400);
    t.is(r?.reason, 'Bad Request (digest uri is not the Request-URI)', password);
    t.is(r?.headers, undefined, 'no challenge: the phone must fix its request, not its password');
  }
  rejected(t, authorize(request('INVITE', 'sip:102@10.0.0.9', { extra: [`Proxy-Authorization: ${creds('proxy', 'INVITE', 'sip:101@10.0.0.9')}`] })), 400);
  t.deepEqual(failures, []);
});

test('a digest uri equal to the Request-URI as a URI passes: another case, parameter order, :5060 added (§19.1.4)', (t) => {
  const { authorize, creds } = setup();
  t.true(authorize(register([`Authorization: ${creds('www', 'REGISTER', 'SIP:10.0.0.9:5060')}`])).ok);
  const uri = 'sip:102@10.0.0.9;transport=udp;user=phone';
  t.true(authorize(request('INVITE', uri, { extra: [`Proxy-Authorization: ${creds('proxy', 'INVITE', 'sip:102@10.0.0.9:5060;User=Phone;Transport=UDP')}`] })).ok);
});

test('stale or replayed credentials get a new challenge with stale=true and are not counted', (t) => {
  const { authorize, creds, failures } = setup();
  const a = `Authorization: ${creds('www', 'REGISTER', 'sip:10.0.0.9')}`;
  t.true(authorize(register([a])).ok);
  const r = rejected(t, authorize(register([a])), 401);
  t.true(r?.headers?.every(([, v]) => v.endsWith('stale=true')));
  t.deepEqual(failures, []);
});

test('a locked user is refused (403) whether the password is right or wrong', (t) => {
  const { authorize, creds } = setup(['101']);
  for (const password of ['one', 'guess']) {
    const req = register([`Authorization: ${creds('www', 'REGISTER', 'sip:10.0.0.9', { password })}`]);
    t.is(rejected(t, authorize(req), 403)?.reason, 'Forbidden (too many failed authentications)', password);
  }
  rejected(t, authorize(register()), 401);
});

test('a user locked by guesses from elsewhere still authenticates from the address it last did, right password only; other addresses get 403', (t) => {
  const guard = new SourceGuard({ requestsPerSecond: 0, authFailuresPerMinute: 2, banMs: 60_000 }, { banned: () => {}, released: () => {} });
  t.teardown(() => guard.close());
  const { authorize, creds } = setup([], guard);
  const withPassword = (password: string) => register([`Authorization: ${creds('www', 'REGISTER', 'sip:10.0.0.9', { password })}`]);
  t.true(authorize(withPassword('one'), SOURCE).ok, 'the phone registers from its own address');
  // Three guessing addresses, three wrong passwords each: 101 locked at its 7th failure (over 3 × 2).
  for (const guesser of ['10.6.0.2', '10.6.0.3', '10.6.0.4']) for (let i = 0; i < 3; i++) t.false(authorize(withPassword(`guess${i}`), guesser).ok);
  t.true(guard.userLocked('101', '10.6.0.5'));
  t.is(rejected(t, authorize(withPassword('one'), '10.6.0.5'), 403)?.reason, 'Forbidden (too many failed authentications)', 'another address, right password: still locked');
  t.true(authorize(withPassword('one'), SOURCE).ok, 'the phone\'s address, right password: through the lock');
  rejected(t, authorize(withPassword('guess'), SOURCE), 401);
  t.false(guard.userLocked('102', SOURCE), 'an exemption is per user');
});

test('a To tag without our Route is no dialog of ours: the rules for new requests apply', (t) => {
  const { authorize } = setup();
  // A stranger cannot relay by adding a tag, nor pose as one of our users to another.
  t.is(rejected(t, authorize(request('INVITE', 'sip:x@evil.example', { from: 'sip:a@evil.example', to: 'sip:x@evil.example', toTag: true })), 403)?.reason, 'Forbidden (relaying denied)');
  rejected(t, authorize(request('INVITE', 'sip:102@10.0.0.9', { toTag: true })), 407);
  rejected(t, authorize(request('SUBSCRIBE', 'sip:102@10.0.0.9', { toTag: true, extra: ['Route: <sip:10.0.0.7;lr>'] })), 407);
  // Through our Record-Route (our Route on top, or our URI as Request-URI from a strict router): a dialog of ours.
  t.true(authorize(request('BYE', 'sip:10.0.0.9:5060', { toTag: true, extra: ['Route: <sip:102@10.0.0.2:5060>'] })).ok);
});

test('a From that could pass for ours (another port, a trailing dot, tel:) must authenticate', (t) => {
  const { authorize } = setup();
  for (const from of ['sip:101@10.0.0.9:5999', 'sip:101@10.0.0.9.', 'tel:101']) {
    rejected(t, authorize(request('INVITE', 'sip:102@10.0.0.9', { from })), 407);
  }
});

test('what passes leaves our realm\'s credentials behind: in-dialog requests too', (t) => {
  const { authorize, creds } = setup();
  const ours = `Proxy-Authorization: ${creds('proxy', 'BYE', 'sip:102@10.0.0.2:5060')}`;
  const bye = request('BYE', 'sip:102@10.0.0.2:5060', { toTag: true, extra: ['Route: <sip:10.0.0.9:5060;lr>', ours] });
  const a = authorize(bye);
  t.true(a.ok);
  if (a.ok) t.deepEqual(getHeaderValues(a.request, 'proxy-authorization'), []);
});

test('credentials we cannot read are challenged but not counted as a guess', (t) => {
  const { authorize, failures } = setup();
  rejected(t, authorize(request('INVITE', 'sip:102@10.0.0.9', { extra: ['Proxy-Authorization: Digest username=101, realm=elsewhere, uri=sip:x@y'] })), 407);
  t.deepEqual(failures, []);
});
