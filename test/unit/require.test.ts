// Require at the requests the proxy answers itself as a UAS (RFC 3261 §8.2.2.3): a REGISTER for
// its registrar (§10.3 step 2, RFC 3327 §5.3) and an OPTIONS to the proxy get 420 Bad Extension
// with Unsupported, and nothing is registered; requests it forwards keep their Require (§16.3).
import test, { type ExecutionContext } from 'ava';
import { Supervisor } from '../../src/actors/supervisor.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { makeUserEntry } from '../../src/auth/users.js';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import { badExtension } from '../../src/proxy/require.js';
import { getHeader, getHeaderValues, type SipMessage, type SipRequest, type SipResponse } from '../../src/sip/message.js';
import { FakeTransport } from '../helpers/fakeTransport.js';
import { datagram, PROXY } from '../helpers/inProcessProxy.js';
import { msg } from '../helpers/messages.js';

const PHONE = { host: '10.0.0.1', port: 5062 };
const ELSEWHERE = { host: '10.0.0.7', port: 5060 };

function proxy(t: ExecutionContext, o: { auth?: boolean } = {}) {
  const net = new FakeTransport();
  const authenticator = o.auth ? new Authenticator({ realm: PROXY.host, users: new Map([['101', [makeUserEntry('101', PROXY.host, 'one')]]]) }) : undefined;
  const sup = new Supervisor(net, { identity: new LocalIdentity(PROXY), timers: { t1: 10, t2: 40, t4: 50 }, ...(authenticator ? { authenticator } : {}) });
  t.teardown(() => sup.stop());
  let n = 0;
  /** Sends a request from the phone and returns what reached the phone and the next hop. */
  const send = (method: string, uri: string, extra: string[], maxForwards = 70): { answers: SipResponse[]; forwarded: SipRequest[] } => {
    n++;
    sup.receive(datagram([
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${PHONE.host}:${PHONE.port};branch=z9hG4bK-req-${n}`,
      `Max-Forwards: ${maxForwards}`,
      `From: <sip:101@${PROXY.host}>;tag=f${n}`,
      `To: <sip:101@${PROXY.host}>`,
      `Call-ID: require-${n}`,
      `CSeq: 1 ${method}`,
      `Contact: <sip:101@${PHONE.host}:${PHONE.port}>`,
      ...extra,
      'Content-Length: 0',
    ]), PHONE);
    const final = (ms: SipMessage[]) => ms.filter((m): m is SipResponse => m.kind === 'response' && m.status >= 200);
    return { answers: final(net.take(PHONE)), forwarded: net.take(ELSEWHERE).filter((m): m is SipRequest => m.kind === 'request') };
  };
  return { sup, send };
}

function only420(t: ExecutionContext, answers: SipResponse[], unsupported: string): void {
  t.deepEqual(answers.map((a) => a.status), [420]);
  t.is(answers[0]?.reason, 'Bad Extension');
  t.is(getHeader(answers[0]!, 'unsupported'), unsupported);
}

test('REGISTER with Require: foo gets 420 Bad Extension, Unsupported: foo, and no binding (§10.3 step 2)', (t) => {
  const p = proxy(t);
  only420(t, p.send('REGISTER', `sip:${PROXY.host}`, ['Require: foo']).answers, 'foo');
  t.is(p.sup.stats().bindings, 0);
  // The same REGISTER without it registers, and its 200 claims no extension.
  const ok = p.send('REGISTER', `sip:${PROXY.host}`, []).answers;
  t.deepEqual(ok.map((a) => a.status), [200]);
  t.deepEqual(getHeaderValues(ok[0]!, 'supported'), []);
  t.is(p.sup.stats().bindings, 1);
});

test('REGISTER with Require: path and a Path is refused (RFC 3327 §5.3), not registered without its Path', (t) => {
  const p = proxy(t);
  const { answers } = p.send('REGISTER', `sip:${PROXY.host}`, ['Supported: path', 'Path: <sip:edge.example;lr>', 'Require: path, foo', 'Require: Path']);
  only420(t, answers, 'path, foo, Path');
  t.is(p.sup.stats().bindings, 0);
});

test('with authentication on, Require is checked before credentials: 420, not 401', (t) => {
  const p = proxy(t, { auth: true });
  only420(t, p.send('REGISTER', `sip:${PROXY.host}`, ['Require: gruu']).answers, 'gruu');
  t.deepEqual(p.send('REGISTER', `sip:${PROXY.host}`, []).answers.map((a) => a.status), [401], 'without Require: the challenge');
});

test('OPTIONS to the proxy itself, or out of hops (§16.3 step 3), gets 420 with Require: foo; 200 without', (t) => {
  const p = proxy(t);
  only420(t, p.send('OPTIONS', `sip:${PROXY.host}`, ['Require: foo']).answers, 'foo');
  only420(t, p.send('OPTIONS', `sip:${ELSEWHERE.host}`, ['Require: foo'], 0).answers, 'foo');
  t.deepEqual(p.send('OPTIONS', `sip:${PROXY.host}`, ['Supported: foo']).answers.map((a) => a.status), [200]);
});

test('requests the proxy forwards keep their Require for the UAS (§16.3 checks only Proxy-Require)', (t) => {
  const p = proxy(t);
  for (const method of ['REGISTER', 'OPTIONS', 'MESSAGE']) {
    const { answers, forwarded } = p.send(method, `sip:${ELSEWHERE.host}`, ['Require: foo']);
    t.deepEqual(answers, [], method);
    t.deepEqual(forwarded.map((f) => getHeader(f, 'require')), ['foo'], method);
  }
});

test('badExtension: each unknown tag once, as written; Proxy-Require the same way; none is null', (t) => {
  const req = (lines: string) => msg(`REGISTER sip:a SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n${lines}\n\n`) as SipRequest;
  const supported = new Set(['timer']);
  t.deepEqual(badExtension(req('Require: foo, Timer\nRequire: foo'), 'require', supported), { status: 420, headers: [['Unsupported', 'foo']] });
  t.deepEqual(badExtension(req('Proxy-Require: sec-agree'), 'proxy-require', supported)?.headers, [['Unsupported', 'sec-agree']]);
  t.is(badExtension(req('Require: timer'), 'require', supported), null);
  t.is(badExtension(req('Supported: foo'), 'require', supported), null);
  t.is(badExtension(req('Require: '), 'require', supported), null);
});

test('an Unsupported header names at most 32 tags, each once, however many the request lists', (t) => {
  const tags = Array.from({ length: 5000 }, (_, i) => `t${i % 4000}`).join(', ');
  const r = badExtension(msg(`OPTIONS sip:a SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nProxy-Require: t1, t1, ${tags}\n\n`) as SipRequest, 'proxy-require', new Set());
  const named = r!.headers![0]![1].split(', ');
  t.is(named.length, 32);
  t.is(new Set(named).size, 32);
  t.is(named[0], 't1');
});
