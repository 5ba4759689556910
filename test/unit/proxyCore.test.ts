import test from 'ava';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import { validateRequest } from '../../src/proxy/validate.js';
import { checkSanity, DEFAULT_SANITY_LIMITS } from '../../src/proxy/sanity.js';
import { preprocessRoute } from '../../src/proxy/routePreprocess.js';
import { buildForwardedRequest } from '../../src/proxy/forward.js';
import { nextHopOf } from '../../src/proxy/nextHop.js';
import { inviteBranch, isStatelessBranch, loopHash, newBranch, newTag, statelessBranch } from '../../src/proxy/branch.js';
import { getHeader, getHeaderValues, header, type SipRequest } from '../../src/sip/message.js';
import { serialize } from '../../src/sip/serializer.js';
import { messageInfo } from '../../src/sip/info.js';
import { stampTopVia, stampedVia, responseAddress, responseAddressOf } from '../../src/transport/viaAddressing.js';
import { msg } from '../helpers/messages.js';

const me = new LocalIdentity({ host: '10.0.0.9', port: 5060, domains: ['example.lan'] });

function req(lines: string): SipRequest {
  return msg(lines) as SipRequest;
}
const msgText = (r: SipRequest) => serialize(r).toString('latin1');
function info(r: SipRequest) {
  const i = messageInfo(r);
  if (!i.ok) throw new Error(i.error);
  return i.info;
}

const base = (extra = '', ruri = 'sip:bob@10.0.0.9') => req(`INVITE ${ruri} SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa;rport
${extra}Max-Forwards: 70
From: <sip:alice@10.0.0.9>;tag=1
To: <sip:bob@10.0.0.9>
Call-ID: c1
CSeq: 1 INVITE

`);

test('local domain: our address or a --domain, without a port or with ours', (t) => {
  const u = (s: string) => ({ scheme: 'sip' as const, user: 'x', password: null, host: s.split(':')[0]!, port: s.includes(':') ? Number(s.split(':')[1]) : null, params: [], headers: null });
  t.true(me.isLocalDomain(u('10.0.0.9')));
  t.true(me.isLocalDomain(u('10.0.0.9:5060')));
  t.true(me.isLocalDomain(u('EXAMPLE.lan')));
  t.false(me.isLocalDomain(u('10.0.0.9:5070')));
  t.false(me.isLocalDomain(u('10.0.0.8')));
});

test('validation: 483 at Max-Forwards 0, 420 for Proxy-Require, 416 for tel: and sips:, 400 for a CSeq method mismatch', (t) => {
  const mf0 = base().headers.map((h) => (h.key === 'max-forwards' ? { ...h, value: '0' } : h));
  const r0 = { ...base(), headers: mf0 };
  t.is(validateRequest(r0, info(r0), me)?.status, 483);
  const pr = base('Proxy-Require: foo\n');
  const rej = validateRequest(pr, info(pr), me);
  t.is(rej?.status, 420);
  t.deepEqual(rej?.headers, [['Unsupported', 'foo']]);
  const tel = { ...base(), uri: 'tel:+123' };
  t.is(validateRequest(tel, info(tel), me)?.status, 416);
  // No TLS here: a SIPS Request-URI is not passed on in the clear (§26.2.2).
  const sips = { ...base(), uri: 'sips:bob@10.0.0.9' };
  t.is(validateRequest(sips, info(sips), me)?.status, 416);
  const cseq = base().headers.map((h) => (h.key === 'cseq' ? { ...h, value: '1 BYE' } : h));
  const rc = { ...base(), headers: cseq };
  t.is(validateRequest(rc, info(rc), me)?.status, 400);
  t.is(validateRequest(base(), info(base()), me), null);
});

test('loop detection: our own Via with the same loop hash is a loop, a changed Request-URI a spiral (§16.3 step 4)', (t) => {
  const r = base();
  const fwd = buildForwardedRequest(r, me, { branch: newBranch(loopHash(r, info(r))), recordRoute: true });
  t.is(validateRequest(fwd, info(fwd), me)?.status, 482);
  const spiral = { ...fwd, uri: 'sip:bob@10.0.0.50:5060' };
  t.is(validateRequest(spiral, info(spiral), me), null);
});

test('loop detection: the Route set is part of the loop hash, so a request routed back with fewer Routes is a spiral (§16.6 step 8)', (t) => {
  // Passed on to a record-routing hop between two passes of ours: the hop sends it back with only our Route.
  const r = base('Route: <sip:10.0.0.9:5060;lr>, <sip:10.0.0.5;lr>, <sip:10.0.0.9:5060;lr>\n', 'sip:carol@10.0.0.3');
  const fwd = buildForwardedRequest(preprocessRoute(r, me), me, { branch: newBranch(loopHash(r, info(r))), recordRoute: false });
  t.deepEqual(getHeaderValues(fwd, 'route'), ['<sip:10.0.0.5;lr>', '<sip:10.0.0.9:5060;lr>']);
  const viaHop = (routes: string[]) => ({ ...fwd, headers: [...fwd.headers.filter((h) => h.key !== 'route'), ...routes.map((v) => header('Route', v))] });
  const spiral = viaHop(['<sip:10.0.0.9:5060;lr>']);
  t.is(validateRequest(spiral, info(spiral), me), null);
  // Back with the Route set it came with: a loop. Back as sent, without our Route: hashed as
  // received, that is one more pass (caught on the next, see test/unit/supervisor.test.ts).
  t.is(validateRequest(fwd, info(fwd), me), null);
  const same = viaHop(['<sip:10.0.0.9:5060;lr>', '<sip:10.0.0.5;lr>', '<sip:10.0.0.9:5060;lr>']);
  t.is(validateRequest(same, info(same), me)?.status, 482);
});

test('loop hash: one Route set hashes alike on one line or several and whatever the spaces; a CANCEL as its INVITE, credentials or not; the topmost Via does not count', (t) => {
  const h = (r: SipRequest) => loopHash(r, info(r));
  const oneLine = base('Route: <sip:10.0.0.9:5060;lr>, <sip:10.0.0.5;lr>\n');
  t.is(h(base('Route: <sip:10.0.0.9:5060;lr>\nRoute: <sip:10.0.0.5;lr>\n')), h(oneLine));
  t.is(h(base('Route: <sip:10.0.0.9:5060;lr>,<sip:10.0.0.5;lr>\n')), h(oneLine));
  t.not(h(base('Route: <sip:10.0.0.5;lr>\n')), h(oneLine));
  t.not(h(base('Route: <sip:10.0.0.5;lr>, <sip:10.0.0.9:5060;lr>\n')), h(oneLine), 'order counts');
  t.not(h(base()), h(oneLine));
  const cancel = req(msgText(oneLine).replace('INVITE sip:', 'CANCEL sip:').replace('1 INVITE', '1 CANCEL'));
  t.is(h(cancel), h(oneLine), '§9.1, §16.11: no method in the hash');
  const otherVia = req(msgText(oneLine).replace('10.0.0.1:5062;branch=z9hG4bKa', '10.0.0.7;branch=z9hG4bKb'));
  t.is(h(otherVia), h(oneLine));
  // A CANCEL need not repeat its INVITE's credentials (§9.1, §22.1): they do not count.
  const withCredentials = base('Proxy-Authorization: Digest username="alice", realm="r", nonce="n", uri="sip:bob@10.0.0.9", response="0"\nRoute: <sip:10.0.0.5;lr>\n');
  t.is(h(withCredentials), h(base('Route: <sip:10.0.0.5;lr>\n')));
  t.is(inviteBranch(h(withCredentials), 'z9hG4bK-a', 0), statelessBranch(h(base('Route: <sip:10.0.0.5;lr>\n')), 'z9hG4bK-a'), 'the restarted proxy\'s CANCEL on the INVITE\'s branch');
});

test('forwarding: Request-URI, Max-Forwards - 1, Record-Route with lr, our Via on top, the rest untouched (§16.6)', (t) => {
  const r = base('X-Thing: keep me\n');
  const fwd = buildForwardedRequest(r, me, { target: 'sip:bob@10.0.0.2:5080', branch: 'z9hG4bK-x-1', recordRoute: true });
  t.is(fwd.uri, 'sip:bob@10.0.0.2:5080');
  t.is(getHeader(fwd, 'max-forwards'), '69');
  t.is(getHeader(fwd, 'record-route'), '<sip:10.0.0.9:5060;lr>');
  t.deepEqual(getHeaderValues(fwd, 'via'), ['SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-x-1', 'SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa;rport']);
  t.is(getHeader(fwd, 'x-thing'), 'keep me');
  t.deepEqual(nextHopOf(fwd), { host: '10.0.0.2', port: 5080, transport: 'udp' });
});

test('loose routing: our Route is removed and the next Route is the next hop (§16.4)', (t) => {
  const r = base('Route: <sip:10.0.0.9:5060;lr>, <sip:10.0.0.7;lr>\n', 'sip:bob@10.0.0.2:5080');
  const pre = preprocessRoute(r, me);
  t.deepEqual(getHeaderValues(pre, 'route'), ['<sip:10.0.0.7;lr>']);
  t.deepEqual(nextHopOf(pre), { host: '10.0.0.7', port: 5060, transport: 'udp' });
});

test('strict-router compatibility: our Record-Route URI in the Request-URI is replaced by the last Route (§16.4)', (t) => {
  const r = base('Route: <sip:10.0.0.7;lr>, <sip:bob@10.0.0.2:5080>\n', 'sip:10.0.0.9:5060;lr');
  const pre = preprocessRoute(r, me);
  t.is(pre.uri, 'sip:bob@10.0.0.2:5080');
  t.deepEqual(getHeaderValues(pre, 'route'), ['<sip:10.0.0.7;lr>']);
});

test('a strict next hop gets the Request-URI appended to the Route set (§16.6 step 6)', (t) => {
  const r = base('Route: <sip:10.0.0.7>\n', 'sip:bob@10.0.0.2:5080');
  const fwd = buildForwardedRequest(r, me, { branch: 'z9hG4bK-x-2', recordRoute: false });
  t.is(fwd.uri, 'sip:10.0.0.7');
  t.deepEqual(getHeaderValues(fwd, 'route'), ['<sip:bob@10.0.0.2:5080>']);
});

test('received and rport are filled on receipt and honoured on the way back (§18.2.1, RFC 3581)', (t) => {
  const stamped = stampTopVia(base(), { host: '192.0.2.7', port: 40000 });
  t.is(getHeaderValues(stamped, 'via')[0], 'SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa;rport=40000;received=192.0.2.7');
  t.deepEqual(responseAddressOf(stamped), { host: '192.0.2.7', port: 40000 });
  const noRport = req(`OPTIONS sip:x@y SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKb
From: <sip:a@b>;tag=1
To: <sip:x@y>
Call-ID: c
CSeq: 1 OPTIONS

`);
  const s2 = stampTopVia(noRport, { host: '10.0.0.1', port: 5062 });
  t.is(getHeaderValues(s2, 'via')[0], 'SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKb', 'nothing added when the source matches');
  const s3 = stampTopVia(noRport, { host: '10.0.0.3', port: 6000 });
  t.deepEqual(responseAddressOf(s3), { host: '10.0.0.3', port: 5062 }, 'without rport the Via port is used');
});

test('received and rport a client wrote itself are replaced by the packet\'s source: replies go back where the request came from', (t) => {
  const withVia = (via: string) => req(`OPTIONS sip:x@y SIP/2.0\nVia: ${via}\nFrom: <sip:a@b>;tag=1\nTo: <sip:x@y>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n`);
  const source = { host: '127.0.0.1', port: 40000 };
  for (const via of [
    'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKa;received=127.0.0.1;rport=5999',
    'SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKa;received=192.0.2.99;rport',
    'SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bKa;received=192.0.2.99',
    'SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa;rport=1;received=192.0.2.99',
  ]) {
    t.deepEqual(responseAddressOf(stampTopVia(withVia(via), source)), via.includes('rport') ? source : { host: '127.0.0.1', port: Number(/:(\d+);/.exec(via)![1]) }, via);
  }
  // Already right: left as it is.
  const right = withVia('SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa;rport=40000;received=127.0.0.1');
  t.is(stampTopVia(right, source), right);
});

test('sanity: a missing To, From, Call-ID, CSeq or Via is 400 with its name; too many Vias 400; a long Request-URI 414', (t) => {
  for (const name of ['To', 'From', 'Call-ID', 'CSeq']) {
    const r = base();
    const without = { ...r, headers: r.headers.filter((h) => h.key !== name.toLowerCase()) };
    t.deepEqual(checkSanity(without, DEFAULT_SANITY_LIMITS), { status: 400, reason: `Missing ${name}` });
  }
  const vias = base(Array.from({ length: 70 }, (_, i) => `Via: SIP/2.0/UDP 10.0.1.${i}:5060;branch=z9hG4bK${i}\n`).join(''));
  t.deepEqual(checkSanity(vias, DEFAULT_SANITY_LIMITS), { status: 400, reason: 'Too many Via headers' });
  t.deepEqual(checkSanity(base('', `sip:${'b'.repeat(1100)}@10.0.0.9`), DEFAULT_SANITY_LIMITS), { status: 414 });
  t.is(checkSanity(base(), DEFAULT_SANITY_LIMITS), null);
});

test('a request without Max-Forwards passes (§16.3 step 3) and is forwarded with 70 (§16.6 step 3)', (t) => {
  const r = base();
  const without = { ...r, headers: r.headers.filter((h) => h.key !== 'max-forwards') };
  t.is(checkSanity(without, DEFAULT_SANITY_LIMITS), null);
  t.is(validateRequest(without, info(without), me), null);
  const fwd = buildForwardedRequest(without, me, { target: 'sip:bob@10.0.0.2:5080', branch: 'z9hG4bK-x-2', recordRoute: true });
  t.is(getHeader(fwd, 'max-forwards'), '70');
});

test('tags and branches: 48 random bits in lower-case hex, which cannot spell a header name for a peer that searches for one (SIPp reads "CSeq" anywhere)', (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const tag = newTag();
    t.regex(tag, /^[0-9a-f]{12}$/);
    seen.add(tag);
    t.regex(newBranch('0badf00d'), /^z9hG4bK-0badf00d-[0-9a-f]{12}$/);
  }
  t.is(seen.size, 20_000, 'no repeats');
});

test('a server transaction\'s reply address from the parsed top Via stamped (stampedVia) is what the stamped request\'s top Via gives', (t) => {
  const vias = [
    'SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa;rport',
    'SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa',
    'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa;RPORT',
    'SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa;rport=abc',
    'SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa;received=10.9.9.9',
    'SIP/2.0/UDP phone.example.com:5062;branch=z9hG4bKa;maddr=239.1.1.1',
    'SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bKa;rport',
    'SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa;rport, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKb',
  ];
  for (const via of vias) {
    for (const source of [{ host: '10.0.0.1', port: 5062 }, { host: '192.0.2.7', port: 40000 }, { host: '2001:db8::1', port: 7000 }]) {
      const r = req(`OPTIONS sip:x@y SIP/2.0\nVia: ${via}\nFrom: <sip:a@b>;tag=1\nTo: <sip:x@y>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n`);
      const i = info(r);
      t.deepEqual(responseAddress(stampedVia(i.topVia, source)), responseAddressOf(stampTopVia(r, source)), `${via} from ${source.host}`);
    }
  }
});

test('a branch made for a stateless forward is told from one made for a client transaction, and from other elements\' branches', (t) => {
  const r = base();
  const loop = loopHash(r, info(r));
  for (let i = 0; i < 200; i++) t.false(isStatelessBranch(newBranch(loop)));
  t.true(isStatelessBranch(statelessBranch(loop, 'z9hG4bK-a-1')));
  t.true(isStatelessBranch(statelessBranch(loop, null)));
  t.false(isStatelessBranch('z9hG4bK-14028-40-1'), 'SIPp\'s');
  t.false(isStatelessBranch('z9hG4bKstray'));
  t.false(isStatelessBranch(''));
});

test('an INVITE\'s first target gets the branch a stateless forward of it would (a CANCEL finding no transaction after a restart is passed on on it); the others that and .i; an RFC 2543 branch a new one', (t) => {
  const r = base();
  const loop = loopHash(r, info(r));
  t.is(inviteBranch(loop, 'z9hG4bK-a-1', 0), statelessBranch(loop, 'z9hG4bK-a-1'));
  t.is(inviteBranch(loop, 'z9hG4bK-a-1', 2), `${statelessBranch(loop, 'z9hG4bK-a-1')}.2`);
  t.not(inviteBranch(loop, 'z9hG4bK-a-1', 0), inviteBranch(loop, 'z9hG4bK-a-2', 0), 'another INVITE of the same call, another branch');
  const old1 = inviteBranch(loop, '1234', 0);
  const old2 = inviteBranch(loop, '1234', 0);
  t.not(old1, old2, 'a branch without the magic cookie need not be unique: ours is');
  t.not(inviteBranch(loop, null, 0), inviteBranch(loop, null, 0));
});

test('Route preprocessing takes every leading Route of ours off at once, however many and however they are split over lines (§16.4)', (t) => {
  const ours = Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? '<sip:10.0.0.9:5060;lr>' : '<sip:10.0.0.9;lr>'));
  const lines = Array.from({ length: 40 }, (_, i) => `Route: ${ours.slice(i * 50, i * 50 + 50).join(', ')}`).join('\n');
  const r = base(`${lines}\nRoute: <sip:10.0.0.7;lr>, <sip:10.0.0.9;lr>\n`);
  t.deepEqual(getHeaderValues(preprocessRoute(r, me), 'route'), ['<sip:10.0.0.7;lr>', '<sip:10.0.0.9;lr>'], 'ours after another hop stay');
  const onlyOurs = base(`${lines}\n`);
  t.deepEqual(getHeaderValues(preprocessRoute(onlyOurs, me), 'route'), []);
  const one = base('Route: <sip:10.0.0.9;lr>, <sip:10.0.0.7;lr>\n');
  t.deepEqual(getHeaderValues(preprocessRoute(one, me), 'route'), ['<sip:10.0.0.7;lr>']);
});
