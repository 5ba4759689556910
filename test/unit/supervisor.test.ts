/**
 * The real Supervisor, in-process: peers' datagrams go in through `receive`, what the proxy sends
 * is caught by a fake transport and parsed back with the real codec. Short real timers
 * (64*T1 = 640 ms) let every flow run until its transactions are gone, so each test ends by
 * checking that no transaction, call or relay actor is left (§17 timers, docs/design.md).
 */
import test, { type ExecutionContext } from 'ava';
import { Supervisor, type SupervisorOptions, type SupervisorStats } from '../../src/actors/supervisor.js';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import { getHeader, getHeaderValues, type SipMessage, type SipRequest, type SipResponse } from '../../src/sip/message.js';
import { tagOf } from '../../src/sip/nameAddr.js';
import { rfcReasonPhrase } from '../../src/sip/reasonPhrases.js';
import type { CallLifecycleEvent } from '../../src/machines/lifecycle.js';
import { FakeTransport, type Address } from '../helpers/fakeTransport.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { makeUserEntry } from '../../src/auth/users.js';
import { NameResolver } from '../../src/transport/nameResolver.js';

// ---- the network: the proxy, two phones, and another proxy for a foreign domain ----

const PROXY = { host: '10.0.0.9', port: 5060 };
const ALICE = { host: '10.0.0.1', port: 5060 };
const BOB = { host: '10.0.0.2', port: 5060 };
const CAROL = { host: '10.0.0.3', port: 5060 };
/** A next-hop proxy serving sip:...@10.0.0.7 (loop and spiral tests send requests there). */
const NEXT = { host: '10.0.0.7', port: 5060 };
const OUR_ROUTE = '<sip:10.0.0.9:5060;lr>';
const BOB_CONTACT = 'sip:bob@10.0.0.2:5060';
const ALICE_CONTACT = 'sip:alice@10.0.0.1:5060';
const TIMERS = { t1: 10, t2: 40, t4: 50 };
const SDP = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

// ---- fixture ----

interface Ctx {
  sup: Supervisor;
  net: FakeTransport;
  events: CallLifecycleEvent[];
  /** A datagram from a peer, as the UDP socket would hand it over. */
  from(peer: Address, bytes: Buffer): void;
}

function setup(t: ExecutionContext, opts: Partial<SupervisorOptions> = {}): Ctx {
  t.timeout(5000);
  const net = new FakeTransport();
  const events: CallLifecycleEvent[] = [];
  const sup = new Supervisor(net, {
    identity: new LocalIdentity({ host: PROXY.host, port: PROXY.port }),
    timers: TIMERS,
    timerCMs: 300,
    onLifecycle: (e) => events.push(e),
    ...opts,
  });
  t.teardown(() => sup.stop());
  return { sup, net, events, from: (peer, bytes) => sup.receive(bytes, peer) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Counts = Pick<SupervisorStats, 'serverTransactions' | 'clientTransactions' | 'calls' | 'relays' | 'dialogs'>;
const counts = (s: SupervisorStats): Counts => ({
  serverTransactions: s.serverTransactions,
  clientTransactions: s.clientTransactions,
  calls: s.calls,
  relays: s.relays,
  dialogs: s.dialogs,
});
const NOTHING: Counts = { serverTransactions: 0, clientTransactions: 0, calls: 0, relays: 0, dialogs: 0 };

/** Waits (bounded) until the counts are `want`: every timer (D, H, I, J, K, L, M = 64*T1 at most) has run out. */
async function settle(t: ExecutionContext, c: Ctx, want: Counts = NOTHING): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && JSON.stringify(counts(c.sup.stats())) !== JSON.stringify(want)) await sleep(20);
  t.deepEqual(counts(c.sup.stats()), want, 'actors left once the timers have run out');
  t.is(c.sup.stats().badMessages, 0);
  t.deepEqual(c.net.unparseable, [], 'everything the proxy sent parses');
}

// ---- message builders (peers' side) ----

/** A datagram from header lines (CRLF, Content-Length added). */
function wire(startLine: string, headers: Array<string | false | undefined>, body = ''): Buffer {
  const lines = [startLine, ...headers.filter((h): h is string => !!h), `Content-Length: ${Buffer.byteLength(body)}`];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

interface ReqSpec {
  method: string;
  uri: string;
  /** Top Via value(s), as the sender writes them. */
  via: string;
  from: string;
  to: string;
  callId: string;
  cseq: number;
  cseqMethod?: string;
  route?: string;
  contact?: string;
  headers?: string[];
  body?: string;
}

function req(s: ReqSpec): Buffer {
  return wire(`${s.method} ${s.uri} SIP/2.0`, [
    `Via: ${s.via}`,
    s.route && `Route: ${s.route}`,
    'Max-Forwards: 70',
    `From: ${s.from}`,
    `To: ${s.to}`,
    `Call-ID: ${s.callId}`,
    `CSeq: ${s.cseq} ${s.cseqMethod ?? s.method}`,
    s.contact && `Contact: <${s.contact}>`,
    ...(s.headers ?? []),
  ], s.body);
}

/** A UAS's response to a request it received (§8.2.6): Vias, From, To (+tag), Call-ID, CSeq, Record-Route copied. */
function answer(r: SipMessage, status: number, opts: { toTag?: string; contact?: string; body?: string } = {}): Buffer {
  const rq = asRequest(r);
  const to = getHeader(rq, 'to')!;
  const lines: string[] = getHeaderValues(rq, 'via').map((v) => `Via: ${v}`);
  lines.push(`From: ${getHeader(rq, 'from')}`);
  lines.push(`To: ${opts.toTag && tagOf(to) === null ? `${to};tag=${opts.toTag}` : to}`);
  lines.push(`Call-ID: ${getHeader(rq, 'call-id')}`, `CSeq: ${getHeader(rq, 'cseq')}`);
  // §12.1.1: a dialog-creating response copies the Record-Route set.
  if (status > 100 && status < 300) for (const rr of getHeaderValues(rq, 'record-route')) lines.push(`Record-Route: ${rr}`);
  if (opts.contact) lines.push(`Contact: <${opts.contact}>`);
  if (opts.body) lines.push('Content-Type: application/sdp');
  return wire(`SIP/2.0 ${status} ${rfcReasonPhrase(status)}`, lines, opts.body);
}

function register(c: Ctx, peer: Address, user: string, contacts: string[], opts: { expires?: number; callId?: string; cseq?: number } = {}): SipResponse {
  c.from(peer, wire('REGISTER sip:10.0.0.9 SIP/2.0', [
    `Via: SIP/2.0/UDP ${peer.host}:${peer.port};branch=z9hG4bK-reg-${user}-${opts.cseq ?? 1}-${contacts.length};rport`,
    'Max-Forwards: 70',
    `From: <sip:${user}@10.0.0.9>;tag=r-${user}`,
    `To: <sip:${user}@10.0.0.9>`,
    `Call-ID: reg-${opts.callId ?? user}`,
    `CSeq: ${opts.cseq ?? 1} REGISTER`,
    ...contacts.map((ct) => `Contact: ${ct}`),
    opts.expires !== undefined && `Expires: ${opts.expires}`,
  ]));
  const got = c.net.take(peer);
  if (got.length !== 1) throw new Error(`REGISTER got ${kinds(got).join(',') || 'nothing'}`);
  return asResponse(got[0]!);
}

/** Alice's side of one call (to bob unless `uri` says otherwise): her INVITE and what follows it. */
function aliceCall(opts: { via?: (branch: string) => string; callId?: string; uri?: string } = {}) {
  const callId = opts.callId ?? 'call-1';
  const ruri = opts.uri ?? 'sip:bob@10.0.0.9';
  // Each transaction gets its own branch (§8.1.1.7), unique per call.
  const via = (branch: string) => (opts.via ?? ((b: string) => `SIP/2.0/UDP 10.0.0.1:5060;branch=${b};rport`))(`${branch}-${callId}`);
  const from = '"Alice" <sip:alice@10.0.0.9>;tag=a-tag';
  const sdp = { headers: ['Content-Type: application/sdp'], body: SDP };
  return {
    callId,
    invite: req({ method: 'INVITE', uri: ruri, via: via('z9hG4bK-a-inv'), from, to: `<${ruri}>`, callId, cseq: 1, contact: ALICE_CONTACT, ...sdp }),
    /** ACK for a non-2xx: same Request-URI and top Via as the INVITE, To from the response (§17.1.1.3). */
    ackNon2xx: (toTag: string) => req({ method: 'ACK', uri: ruri, via: via('z9hG4bK-a-inv'), from, to: `<${ruri}>;tag=${toTag}`, callId, cseq: 1 }),
    /** CANCEL: same Request-URI, top Via, From, To, Call-ID and CSeq number as the INVITE (§9.1). */
    cancel: () => req({ method: 'CANCEL', uri: ruri, via: via('z9hG4bK-a-inv'), from, to: `<${ruri}>`, callId, cseq: 1, cseqMethod: 'CANCEL' }),
    /** In-dialog request (§12.2.1.1): remote target as Request-URI, the route set from Record-Route. */
    inDialog: (method: string, cseq: number, branch: string, withSdp = false) =>
      req({ method, uri: BOB_CONTACT, route: OUR_ROUTE, via: via(branch), from, to: '<sip:bob@10.0.0.9>;tag=b-tag', callId, cseq, ...(withSdp ? sdp : {}) }),
  };
}

/** Bob's BYE towards alice (his own CSeq space, §12.2.1.1). */
function bobBye(callId: string): Buffer {
  return req({ method: 'BYE', uri: ALICE_CONTACT, route: OUR_ROUTE, via: 'SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-b-bye', from: '<sip:bob@10.0.0.9>;tag=b-tag', to: '"Alice" <sip:alice@10.0.0.9>;tag=a-tag', callId, cseq: 1 });
}

// ---- reading what the proxy sent ----

const kinds = (ms: SipMessage[]) => ms.map((m) => (m.kind === 'response' ? m.status : m.method));
const names = (es: CallLifecycleEvent[]) => es.map((e) => e.name);

function asRequest(m: SipMessage | undefined): SipRequest {
  if (m?.kind !== 'request') throw new Error(`expected a request, got ${m ? m.status : 'nothing'}`);
  return m;
}
function asResponse(m: SipMessage | undefined): SipResponse {
  if (m?.kind !== 'response') throw new Error(`expected a response, got ${m ? m.method : 'nothing'}`);
  return m;
}
/** Exactly one message, of the kind named ('INVITE' or 180...). */
function only(t: ExecutionContext, ms: SipMessage[], what: string | number): SipMessage {
  t.deepEqual(kinds(ms), [what]);
  return ms[0]!;
}
const vias = (m: SipMessage) => getHeaderValues(m, 'via');
const OUR_VIA = /^SIP\/2\.0\/UDP 10\.0\.0\.9:5060;branch=z9hG4bK-/;

/**
 * Registers bob, then alice calls him and he answers (§16.6, §16.7): returns the INVITE bob got
 * and his 200. Asserts the responses reach alice (at `aliceAt`).
 */
function answeredCall(t: ExecutionContext, c: Ctx, call = aliceCall(), aliceAt: Address = ALICE) {
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  c.from(aliceAt, call.invite);
  t.deepEqual(kinds(c.net.take(aliceAt)), [100]);
  const inv = asRequest(only(t, c.net.take(BOB), 'INVITE'));
  t.is(inv.uri, BOB_CONTACT, 'Request-URI is the registered contact (§16.5)');
  t.deepEqual(getHeaderValues(inv, 'record-route'), [OUR_ROUTE], 'Record-Route with lr (§16.6 step 4)');
  c.from(BOB, answer(inv, 180, { toTag: 'b-tag' }));
  only(t, c.net.take(aliceAt), 180);
  const ok = answer(inv, 200, { toTag: 'b-tag', contact: BOB_CONTACT, body: SDP });
  c.from(BOB, ok);
  const okUp = asResponse(only(t, c.net.take(aliceAt), 200));
  t.is(getHeader(okUp, 'contact'), `<${BOB_CONTACT}>`);
  t.deepEqual(getHeaderValues(okUp, 'record-route'), [OUR_ROUTE]);
  t.is(okUp.body.toString(), SDP);
  return { inv, ok };
}

// ---- 1. RFC 2543 peers (§17.2.3) ----

const rfc2543 = test.macro({
  async exec(t, via: string) {
    const c = setup(t);
    register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
    const call = aliceCall({ via: () => via });
    c.from(ALICE, call.invite);
    const trying = asResponse(only(t, c.net.take(ALICE), 100));
    t.deepEqual(vias(trying), [via], 'no rport asked, same host: the Via comes back as sent');
    const inv = asRequest(only(t, c.net.take(BOB), 'INVITE'));
    t.regex(vias(inv)[0]!, OUR_VIA, 'our own branch is an RFC 3261 one');
    t.is(vias(inv)[1], via);

    c.from(BOB, answer(inv, 180, { toTag: 'b-tag' }));
    only(t, c.net.take(ALICE), 180);
    // §17.2.3 (2543 matching: Request-URI, From tag, Call-ID, CSeq, top Via): a retransmission is
    // absorbed and answered with the last provisional; it is not forwarded again.
    c.from(ALICE, call.invite);
    only(t, c.net.take(ALICE), 180);
    t.deepEqual(c.net.take(BOB), []);

    c.from(BOB, answer(inv, 486, { toTag: 'b-tag' }));
    // §17.1.1.3: the proxy's client transaction ACKs the 486 itself, hop by hop.
    const hopAck = asRequest(only(t, c.net.take(BOB), 'ACK'));
    t.deepEqual(vias(hopAck), [vias(inv)[0]]);
    t.is(hopAck.uri, inv.uri);
    t.is(getHeader(hopAck, 'cseq'), '1 ACK');
    t.is(tagOf(getHeader(hopAck, 'to')), 'b-tag');
    const busy = asResponse(only(t, c.net.take(ALICE), 486));
    t.deepEqual(vias(busy), [via]);
    c.from(ALICE, call.invite);
    only(t, c.net.take(ALICE), 486);

    // The caller's ACK matches the server transaction and is absorbed, not forwarded (§16.7, §17.2.3).
    c.from(ALICE, call.ackNon2xx('b-tag'));
    t.deepEqual(c.net.take(BOB), []);
    t.deepEqual(c.net.take(ALICE), []);
    await settle(t, c);
    // Had the ACK not matched, Timer G would have retransmitted the 486 meanwhile (§17.2.1).
    t.deepEqual(c.net.take(ALICE), [], 'no 486 retransmission after the ACK');
    t.deepEqual(names(c.events), ['call.ringing', 'call.busy']);
  },
  title: (_, via: string) => `RFC 2543 peer (${/branch=/.test(via) ? 'branch without z9hG4bK' : 'no branch'}): INVITE retransmission absorbed, ACK for 486 absorbed (§17.2.3)`,
});
test(rfc2543, 'SIP/2.0/UDP 10.0.0.1:5060;branch=2543-old-1');
test(rfc2543, 'SIP/2.0/UDP 10.0.0.1:5060');

// ---- 2. loops and spirals (§16.3 step 4, §16.6 step 8) ----

test('a forwarded request that comes back unchanged is answered 482; the 482 reaches the caller', async (t) => {
  const c = setup(t);
  const call = aliceCall({ uri: 'sip:carol@10.0.0.7' });
  c.from(ALICE, call.invite);
  only(t, c.net.take(ALICE), 100);
  const out = asRequest(only(t, c.net.take(NEXT), 'INVITE'));
  t.is(out.uri, 'sip:carol@10.0.0.7', 'a foreign domain keeps its Request-URI');

  // The next hop routes it straight back to us, unchanged.
  c.from(NEXT, c.net.bytesOf(out));
  const back = c.net.take(NEXT);
  t.deepEqual(kinds(back), [100, 482], 'answered 482, not forwarded again');
  const loop = asResponse(back[1]);
  t.deepEqual(vias(loop), [`${vias(out)[0]};received=10.0.0.7`, ...vias(out).slice(1)]);
  t.deepEqual(c.net.take(ALICE), []);

  // The 482 travels back as the next hop's answer to our INVITE: ACKed hop by hop, passed upstream.
  c.from(NEXT, c.net.bytesOf(loop));
  const hopAck = asRequest(only(t, c.net.take(NEXT), 'ACK'));
  const up = asResponse(only(t, c.net.take(ALICE), 482));
  t.deepEqual(vias(up), ['SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-a-inv-call-1;rport=5060;received=10.0.0.1']);
  // Our ACK comes back the same way and completes the looped server transaction.
  c.from(NEXT, c.net.bytesOf(hopAck));
  c.from(ALICE, call.ackNon2xx(tagOf(getHeader(up, 'to'))!));
  t.deepEqual(c.net.take(NEXT), []);
  await settle(t, c);
  t.deepEqual(c.events.map((e) => [e.name, e.status]), [['call.failed', 482]]);
});

test('a spiral (the request comes back with another Request-URI) is routed, not answered 482', async (t) => {
  const c = setup(t);
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  const call = aliceCall({ uri: 'sip:carol@10.0.0.7' });
  c.from(ALICE, call.invite);
  only(t, c.net.take(ALICE), 100);
  const out = asRequest(only(t, c.net.take(NEXT), 'INVITE'));

  // The next hop retargets carol to bob@our domain and sends it back to us.
  const retargeted = Buffer.from(c.net.bytesOf(out).toString('latin1').replace(/^INVITE \S+/, 'INVITE sip:bob@10.0.0.9'), 'latin1');
  c.from(NEXT, retargeted);
  t.deepEqual(kinds(c.net.take(NEXT)), [100], 'no 482');
  const spiral = asRequest(only(t, c.net.take(BOB), 'INVITE'));
  t.is(spiral.uri, BOB_CONTACT);
  const v = vias(spiral);
  t.is(v.length, 3);
  t.regex(v[0]!, OUR_VIA);
  t.regex(v[1]!, OUR_VIA);
  t.not(v[0]!.split('-')[1], v[1]!.split('-')[1], 'different loop-detection parts (§16.6 step 8)');

  // Bob is busy: the 486 goes back through both passes.
  c.from(BOB, answer(spiral, 486, { toTag: 'b-tag' }));
  only(t, c.net.take(BOB), 'ACK');
  const toNext = asResponse(only(t, c.net.take(NEXT), 486));
  c.from(NEXT, c.net.bytesOf(toNext));
  const hopAck = only(t, c.net.take(NEXT), 'ACK');
  only(t, c.net.take(ALICE), 486);
  c.from(NEXT, c.net.bytesOf(hopAck));
  c.from(ALICE, call.ackNon2xx('b-tag'));
  t.deepEqual(c.net.take(NEXT), []);
  t.deepEqual(c.net.take(BOB), []);
  await settle(t, c);
});

/**
 * A spiral that bob answers (§16.3 step 4): the call passes us twice (out to NEXT, back retargeted
 * to bob), so the 200 carries our Record-Route twice and alice's route set names us twice.
 */
function spiralledCall(t: ExecutionContext, c: Ctx) {
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  const call = aliceCall({ uri: 'sip:carol@10.0.0.7' });
  c.from(ALICE, call.invite);
  only(t, c.net.take(ALICE), 100);
  const out = asRequest(only(t, c.net.take(NEXT), 'INVITE'));
  c.from(NEXT, Buffer.from(c.net.bytesOf(out).toString('latin1').replace(/^INVITE \S+/, 'INVITE sip:bob@10.0.0.9'), 'latin1'));
  only(t, c.net.take(NEXT), 100);
  const inv = asRequest(only(t, c.net.take(BOB), 'INVITE'));
  // Bob's responses go to the second pass, then (relayed by NEXT) to the first one.
  for (const res of [answer(inv, 180, { toTag: 'b-tag' }), answer(inv, 200, { toTag: 'b-tag', contact: BOB_CONTACT })]) {
    c.from(BOB, res);
    const [viaNext] = c.net.take(NEXT);
    c.from(NEXT, c.net.bytesOf(viaNext!));
  }
  t.deepEqual(kinds(c.net.take(ALICE)), [180, 200]);
  const route = `${OUR_ROUTE}, ${OUR_ROUTE}`;
  const inDialog = (method: string, cseq: number, branch: string) => req({
    method, uri: BOB_CONTACT, route, via: `SIP/2.0/UDP 10.0.0.1:5060;branch=${branch};rport`,
    from: '"Alice" <sip:alice@10.0.0.9>;tag=a-tag', to: '<sip:carol@10.0.0.7>;tag=b-tag', callId: call.callId, cseq,
  });
  c.from(ALICE, inDialog('ACK', 1, 'z9hG4bK-sp-ack'));
  loopback(c);
  only(t, c.net.take(BOB), 'ACK');
  return { inDialog };
}

/** What the proxy sends to its own address comes back to it (a UDP socket would deliver it). */
function loopback(c: Ctx): void {
  for (let got = c.net.take(PROXY); got.length; got = c.net.take(PROXY)) {
    for (const m of got) c.from(PROXY, c.net.bytesOf(m));
  }
}

// A spiral is one call (§16.3 step 4): only the INVITE's first pass through the proxy keeps the
// lifecycle, so each fact is logged once and one call actor holds the dialog.
test('a spiralled call is one call: each lifecycle fact once, one call actor', async (t) => {
  const c = setup(t);
  spiralledCall(t, c);
  t.deepEqual(names(c.events), ['call.ringing', 'call.answered']);
  await settle(t, c, { ...NOTHING, calls: 1, dialogs: 1 });
});

// In a spiralled dialog our Record-Route is in the route set twice: both leading Routes of ours
// are consumed in one pass (§16.4), so the BYE is not sent to ourselves and taken for a loop.
test('in a spiralled dialog (our Record-Route twice) the BYE reaches the callee', async (t) => {
  const c = setup(t);
  const { inDialog } = spiralledCall(t, c);
  c.from(ALICE, inDialog('BYE', 2, 'z9hG4bK-sp-bye'));
  loopback(c);
  const bye = asRequest(only(t, c.net.take(BOB), 'BYE'));
  c.from(BOB, answer(bye, 200));
  loopback(c);
  only(t, c.net.take(ALICE), 200);
});

// A PBX (or call forwarder) registered as bob record-routes and sends the call back to us for
// carol: the call passes us twice with the PBX between, so the route set is <us>,<pbx>,<us>.
// An in-dialog request goes us -> PBX -> us with the same Request-URI and only <us> left: a
// spiral, which the Route set in the loop hash tells apart from a loop (§16.6 step 8).
const PBX = { host: '10.0.0.5', port: 5060 };
const PBX_ROUTE = '<sip:10.0.0.5:5060;lr>';
const CAROL_CONTACT = 'sip:carol@10.0.0.3:5060';

/** The PBX forwards what we sent it (§16.4, §16.6): its Route off the top, its Via on top, a Record-Route on a new dialog. */
function pbxForwards(m: SipMessage, branch: string, uri?: string): Buffer {
  const r = asRequest(m);
  const routes = getHeaderValues(r, 'route');
  if (routes[0] === PBX_ROUTE) routes.shift();
  const lines = [`Via: SIP/2.0/UDP 10.0.0.5:5060;branch=${branch}`];
  if (r.method === 'INVITE' && tagOf(getHeader(r, 'to')!) === null) lines.push(`Record-Route: ${PBX_ROUTE}`);
  for (const h of r.headers) if (h.key !== 'route' && h.key !== 'content-length') lines.push(`${h.name}: ${h.value}`);
  if (routes.length > 0) lines.push(`Route: ${routes.join(', ')}`);
  return wire(`${r.method} ${uri ?? r.uri} SIP/2.0`, lines, r.body.toString());
}

/** The PBX passes a response on (§16.7 step 9): its own Via off the top. */
function pbxRelays(t: ExecutionContext, c: Ctx, m: SipMessage): Buffer {
  const text = c.net.bytesOf(m).toString('latin1');
  const out = text.replace(/^Via: SIP\/2\.0\/UDP 10\.0\.0\.5:5060;[^\r]*\r\n/m, '');
  t.not(out, text, 'the PBX\'s Via was on top');
  return Buffer.from(out, 'latin1');
}
test('a call spiralled through a record-routing PBX: the in-dialog requests the PBX sends back reach the callee, not 482 (§16.6 step 8)', async (t) => {
  const c = setup(t);
  register(c, PBX, 'bob', ['<sip:bob@10.0.0.5:5060>']);
  register(c, CAROL, 'carol', [`<${CAROL_CONTACT}>`]);
  const call = aliceCall();
  c.from(ALICE, call.invite);
  only(t, c.net.take(ALICE), 100);
  const toPbx = only(t, c.net.take(PBX), 'INVITE');
  c.from(PBX, pbxForwards(toPbx, 'z9hG4bK-pbx-inv', 'sip:carol@10.0.0.9'));
  only(t, c.net.take(PBX), 100);
  const inv = asRequest(only(t, c.net.take(CAROL), 'INVITE'));
  t.is(inv.uri, CAROL_CONTACT);
  t.deepEqual(getHeaderValues(inv, 'record-route'), [OUR_ROUTE, PBX_ROUTE, OUR_ROUTE]);

  c.from(CAROL, answer(inv, 200, { toTag: 'c-tag', contact: CAROL_CONTACT, body: SDP }));
  c.from(PBX, pbxRelays(t, c, only(t, c.net.take(PBX), 200)));
  const ok = asResponse(only(t, c.net.take(ALICE), 200));
  const routeSet = getHeaderValues(ok, 'record-route').reverse();
  t.deepEqual(routeSet, [OUR_ROUTE, PBX_ROUTE, OUR_ROUTE]);
  // Alice's in-dialog requests (§12.2.1.1): Request-URI carol's Contact, Route the route set.
  const inDialog = (method: string, cseq: number) => req({
    method, uri: CAROL_CONTACT, route: routeSet.join(', '), via: `SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-a-${method}-${cseq};rport`,
    from: '"Alice" <sip:alice@10.0.0.9>;tag=a-tag', to: '<sip:bob@10.0.0.9>;tag=c-tag', callId: call.callId, cseq,
  });
  c.from(ALICE, inDialog('ACK', 1));
  c.from(PBX, pbxForwards(only(t, c.net.take(PBX), 'ACK'), 'z9hG4bK-pbx-ack'));
  only(t, c.net.take(CAROL), 'ACK');

  for (const [method, cseq] of [['INFO', 2], ['BYE', 3]] as const) {
    c.from(ALICE, inDialog(method, cseq));
    const first = asRequest(only(t, c.net.take(PBX), method));
    t.deepEqual(getHeaderValues(first, 'route'), [PBX_ROUTE, OUR_ROUTE], 'our top Route consumed (§16.4)');
    c.from(PBX, pbxForwards(first, `z9hG4bK-pbx-${method}`));
    t.deepEqual(c.net.take(PBX), [], `${method}: no 482 for the spiral`);
    const got = asRequest(only(t, c.net.take(CAROL), method));
    t.is(got.uri, CAROL_CONTACT);
    t.deepEqual(getHeaderValues(got, 'route'), []);
    t.is(vias(got).length, 4, 'through us, the PBX and us again');
    c.from(CAROL, answer(got, 200));
    c.from(PBX, pbxRelays(t, c, only(t, c.net.take(PBX), 200)));
    t.is(getHeader(asResponse(only(t, c.net.take(ALICE), 200)), 'cseq'), `${cseq} ${method}`);
  }
  t.deepEqual(names(c.events), ['call.answered', 'call.ended']);
  await settle(t, c);
});

// A true loop still gets 482: the request comes back with the Request-URI and Route set it was
// sent with. ALIAS is this proxy under an address it does not know as its own (a NAT's public
// address, another name): what is sent there comes back to us.
const ALIAS = { host: '10.0.0.8', port: 5060 };

/** What the proxy sends to ALIAS comes back to it from ALIAS; returns how many times each method went there. */
function echoAlias(c: Ctx): Record<string, number> {
  const sent: Record<string, number> = {};
  for (let got = c.net.take(ALIAS), rounds = 0; got.length && rounds < 20; got = c.net.take(ALIAS), rounds++) {
    for (const m of got) {
      const what = m.kind === 'request' ? m.method : String(m.status);
      sent[what] = (sent[what] ?? 0) + 1;
      c.from(ALIAS, c.net.bytesOf(m));
    }
  }
  return sent;
}

test('a binding that is the proxy under another address: the INVITE spirals once (new Request-URI), then loops: 482 to the caller', async (t) => {
  const c = setup(t);
  register(c, BOB, 'bob', ['<sip:bob@10.0.0.8:5060>']);
  const call = aliceCall();
  c.from(ALICE, call.invite);
  const sent = echoAlias(c);
  t.is(sent.INVITE, 2, 'sip:bob@10.0.0.9 retargeted to the binding, then the binding unchanged: a loop');
  t.is(sent['482'], 2, 'the 482 goes back through the spiral\'s pass');
  const up = c.net.take(ALICE);
  t.deepEqual(kinds(up), [100, 482]);
  c.from(ALICE, call.ackNon2xx(tagOf(getHeader(asResponse(up[1]), 'to'))!));
  echoAlias(c);
  t.deepEqual(c.events.map((e) => [e.name, e.status]), [['call.failed', 482]]);
  await settle(t, c);
});

// The Route set is hashed as received (§16.3 step 4 runs before §16.4), so a request that lost
// our Route on the way out hashes apart the first time it returns: a loop of in-dialog requests
// is caught one pass later than the Route set it entered with would say, and is still caught.
test('an in-dialog request whose remote target is the proxy under another address: 482 on its second return', async (t) => {
  const c = setup(t);
  const call = aliceCall();
  answeredCall(t, c, call);
  c.from(ALICE, req({
    method: 'INFO', uri: 'sip:bob@10.0.0.8:5060', route: OUR_ROUTE, via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-a-info-loop;rport',
    from: '"Alice" <sip:alice@10.0.0.9>;tag=a-tag', to: '<sip:bob@10.0.0.9>;tag=b-tag', callId: call.callId, cseq: 2,
  }));
  const sent = echoAlias(c);
  t.is(sent.INFO, 2, 'back without our Route: a spiral; back unchanged again: a loop');
  t.is(sent['482'], 2);
  t.is(getHeader(asResponse(only(t, c.net.take(ALICE), 482)), 'cseq'), '2 INFO');
  t.deepEqual(c.net.take(BOB), []);
  await settle(t, c, { ...NOTHING, calls: 1, dialogs: 1 });
});

// ---- 3. in-dialog routing (§16.4, §16.6, §12.2) ----

const hangUp = test.macro({
  async exec(t, who: 'caller' | 'callee') {
    const c = setup(t);
    const call = aliceCall();
    answeredCall(t, c, call);

    // ACK for the 2xx: its own transaction, routed statelessly by the Route set (§16.4, §16.11).
    c.from(ALICE, call.inDialog('ACK', 1, 'z9hG4bK-a-ack'));
    const ack = asRequest(only(t, c.net.take(BOB), 'ACK'));
    t.is(ack.uri, BOB_CONTACT);
    t.deepEqual(getHeaderValues(ack, 'route'), [], 'our Route is removed (§16.4)');
    t.regex(vias(ack)[0]!, OUR_VIA);
    t.deepEqual(vias(ack).slice(1), ['SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-a-ack-call-1;rport=5060;received=10.0.0.1']);
    t.is(getHeader(ack, 'max-forwards'), '69');
    t.deepEqual(c.net.take(ALICE), []);

    if (who === 'caller') {
      c.from(ALICE, call.inDialog('BYE', 2, 'z9hG4bK-a-bye'));
      const bye = asRequest(only(t, c.net.take(BOB), 'BYE'));
      t.is(bye.uri, BOB_CONTACT);
      t.deepEqual(getHeaderValues(bye, 'route'), []);
      t.deepEqual(getHeaderValues(bye, 'record-route'), [], 'no Record-Route inside a dialog');
      t.regex(vias(bye)[0]!, OUR_VIA);
      t.is(vias(bye)[1], 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-a-bye-call-1;rport=5060;received=10.0.0.1');
      c.from(BOB, answer(bye, 200));
      const ok = asResponse(only(t, c.net.take(ALICE), 200));
      t.is(getHeader(ok, 'cseq'), '2 BYE');
      t.deepEqual(vias(ok), [vias(bye)[1]]);
    } else {
      c.from(BOB, bobBye(call.callId));
      const bye = asRequest(only(t, c.net.take(ALICE), 'BYE'));
      t.is(bye.uri, ALICE_CONTACT);
      t.deepEqual(getHeaderValues(bye, 'route'), []);
      t.regex(vias(bye)[0]!, OUR_VIA);
      t.is(vias(bye)[1], 'SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-b-bye');
      c.from(ALICE, answer(bye, 200));
      const ok = asResponse(only(t, c.net.take(BOB), 200));
      t.deepEqual(vias(ok), ['SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-b-bye']);
    }
    await settle(t, c);
    t.deepEqual(names(c.events), ['call.ringing', 'call.answered', 'call.ended']);
    t.is(c.events[1]!.toTag, 'b-tag');
    t.is(c.events[1]!.from, 'sip:alice@10.0.0.9');
    t.is(c.events[1]!.to, 'sip:bob@10.0.0.9');
  },
  title: (_, who: string) => `in-dialog ACK and BYE follow the Route set to the remote target; the ${who} hangs up (§16.4, §12.2)`,
});
test(hangUp, 'caller');
test(hangUp, 'callee');

test('a BYE ends the call as it passes (§15.1); a 2xx retransmission of the INVITE after it still reaches the caller (§16.7 step 10)', async (t) => {
  const c = setup(t);
  const call = aliceCall();
  const { ok } = answeredCall(t, c, call);
  c.from(ALICE, call.inDialog('ACK', 1, 'z9hG4bK-a-ack'));
  only(t, c.net.take(BOB), 'ACK');
  c.from(BOB, bobBye(call.callId));
  const bye = asRequest(only(t, c.net.take(ALICE), 'BYE'));
  // Ended before the BYE's own response: the session is over once the BYE is sent (§15.1).
  t.deepEqual(names(c.events), ['call.ringing', 'call.answered', 'call.ended']);
  t.is(c.sup.stats().calls, 0);
  // Bob did not hear Alice's ACK in time and sends his 2xx again: it still goes up.
  c.from(BOB, ok);
  const again = asResponse(only(t, c.net.take(ALICE), 200));
  t.is(getHeader(again, 'cseq'), '1 INVITE');
  c.from(ALICE, answer(bye, 200));
  only(t, c.net.take(BOB), 200);
  await settle(t, c);
  t.is(c.events.length, 3, 'no second lifecycle fact');
});

// ---- 4. 404 and 480 (§16.5) ----

test('a user who registered and unregistered gets 480; a user never seen gets 404', async (t) => {
  const c = setup(t);
  t.is(register(c, CAROL, 'carol', [`<sip:carol@10.0.0.3:5060>`], { expires: 600 }).status, 200);
  const gone = register(c, CAROL, 'carol', [`<sip:carol@10.0.0.3:5060>`], { expires: 0, cseq: 2 });
  t.is(gone.status, 200);
  t.deepEqual(getHeaderValues(gone, 'contact'), [], 'no binding left');

  const toCarol = aliceCall({ uri: 'sip:carol@10.0.0.9', callId: 'c-carol' });
  c.from(ALICE, toCarol.invite);
  const r480 = asResponse(c.net.take(ALICE)[1]);
  t.is(r480.status, 480);
  t.truthy(tagOf(getHeader(r480, 'to')), 'a locally generated final response has a To tag (§8.2.6.2)');
  c.from(ALICE, toCarol.ackNon2xx(tagOf(getHeader(r480, 'to'))!));

  const toDave = aliceCall({ uri: 'sip:dave@10.0.0.9', callId: 'c-dave' });
  c.from(ALICE, toDave.invite);
  const r404 = asResponse(c.net.take(ALICE)[1]);
  t.is(r404.status, 404);
  c.from(ALICE, toDave.ackNon2xx(tagOf(getHeader(r404, 'to'))!));

  t.deepEqual(c.net.take(CAROL), []);
  t.deepEqual(c.net.take(ALICE), []);
  await settle(t, c);
  t.deepEqual(c.net.take(ALICE), [], 'both ACKs matched: no retransmitted final response');
  t.deepEqual(c.events.map((e) => [e.name, e.status]), [['call.failed', 480], ['call.failed', 404]]);
});

test('a Contact that is the proxy itself is refused (403); one left in the location service is no target (480, nothing sent to ourselves)', async (t) => {
  const c = setup(t);
  const self = `<sip:g0@${PROXY.host}:${PROXY.port}>`;
  const refused = register(c, CAROL, 'g0', [self, '<sip:g0@10.0.0.3:5060>']);
  t.is(refused.status, 403);
  t.is(c.sup.location.lookup('g0').known, false, 'nothing was bound');
  // Removing such a binding is fine (one restored from an older journal).
  t.is(register(c, CAROL, 'g0', [`${self};expires=0`], { cseq: 2 }).status, 200);
  // As an older journal may have left it: every contact of g1 is this proxy.
  c.sup.location.restore('g1', 'sip:g1@10.0.0.9', { contact: `sip:g1@${PROXY.host}:${PROXY.port}`, key: 'k', q: 1, expiresAt: Date.now() + 60_000, callId: 'x', cseq: 1, source: '10.0.0.3:5060' });
  const call = aliceCall({ uri: 'sip:g1@10.0.0.9', callId: 'c-g1' });
  c.from(ALICE, call.invite);
  const r480 = asResponse(c.net.take(ALICE)[1]);
  t.is(r480.status, 480);
  c.from(ALICE, call.ackNon2xx(tagOf(getHeader(r480, 'to'))!));
  t.deepEqual(c.net.take(PROXY), [], 'nothing sent to the proxy itself');
  await settle(t, c);
});

test('a response whose next Via is the proxy itself is not sent to the proxy (a response stacked with our Vias would come back once a Via)', async (t) => {
  const c = setup(t);
  const ours = `SIP/2.0/UDP ${PROXY.host}:${PROXY.port};branch=z9hG4bK-nobody-1`;
  c.from(ALICE, wire('SIP/2.0 200 OK', [...Array.from({ length: 50 }, () => `Via: ${ours}`), 'From: <sip:a@10.0.0.9>;tag=1', 'To: <sip:b@10.0.0.9>;tag=2', 'Call-ID: bounce', 'CSeq: 1 INVITE']));
  t.deepEqual(c.net.take(PROXY), []);
  t.is(c.net.sent.length, 0);
  await settle(t, c);
});

test('past maxCalls open calls a new INVITE is 503; once one ends there is room again', async (t) => {
  const c = setup(t, { maxCalls: 2 });
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  const calls = ['m-1', 'm-2', 'm-3'].map((callId) => aliceCall({ callId }));
  const atBob: SipMessage[] = [];
  for (const call of calls.slice(0, 2)) {
    c.from(ALICE, call.invite);
    only(t, c.net.take(ALICE), 100);
    atBob.push(only(t, c.net.take(BOB), 'INVITE'));
  }
  c.from(ALICE, calls[2]!.invite);
  const refused = asResponse(c.net.take(ALICE)[1]);
  t.is(refused.status, 503);
  t.is(refused.reason, 'Too many calls');
  t.deepEqual(c.net.take(BOB), [], 'not forwarded');
  c.from(ALICE, calls[2]!.ackNon2xx(tagOf(getHeader(refused, 'to'))!));
  // Bob is busy for the first call: it ends, and a new one gets through.
  c.from(BOB, answer(atBob[0]!, 486, { toTag: 'b-busy' }));
  only(t, c.net.take(BOB), 'ACK');
  only(t, c.net.take(ALICE), 486);
  c.from(ALICE, calls[0]!.ackNon2xx('b-busy'));
  const fourth = aliceCall({ callId: 'm-4' });
  c.from(ALICE, fourth.invite);
  t.deepEqual(kinds(c.net.take(ALICE)), [100]);
  t.truthy(c.net.take(BOB).find((m) => m.kind === 'request' && m.method === 'INVITE'));
  t.is(c.sup.stats().calls, 2);
});

test('a request rejected with no transaction gets the same To tag on every retransmission, and the ACK of its 400 ends at the proxy', async (t) => {
  const c = setup(t);
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  const via = 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-broken-1;rport';
  const broken = wire('INVITE sip:bob@10.0.0.9 SIP/2.0', [`Via: ${via}`, 'Max-Forwards: 70', '"Alice" <sip:alice@10.0.0.9>;tag=a-tag', 'From: "Alice" <sip:alice@10.0.0.9>;tag=a-tag', 'To: <sip:bob@10.0.0.9>', 'Call-ID: broken-1', 'CSeq: 1 INVITE', 'ThisLineHasNoColon']);
  c.from(ALICE, broken);
  c.from(ALICE, broken);
  const [first, again] = c.net.take(ALICE).map(asResponse);
  t.is(first!.status, 400);
  const tag = tagOf(getHeader(first!, 'to'));
  t.truthy(tag);
  t.is(tagOf(getHeader(again!, 'to')), tag, 'the retransmission gets the same To tag (§8.2.6.2)');
  c.from(ALICE, req({ method: 'ACK', uri: 'sip:bob@10.0.0.9', via, from: '"Alice" <sip:alice@10.0.0.9>;tag=a-tag', to: `<sip:bob@10.0.0.9>;tag=${tag}`, callId: 'broken-1', cseq: 1 }));
  t.deepEqual(c.net.take(BOB), [], 'the ACK is not passed on to the phone');
  // The REGISTER's transaction lingers its Timer J; the broken INVITE left nothing.
  for (const until = Date.now() + 3000; Date.now() < until && c.sup.stats().serverTransactions > 0; ) await sleep(20);
  t.deepEqual(counts(c.sup.stats()), NOTHING, 'no state kept for them');
  t.is(c.sup.stats().badMessages, 2);
});

test('a 2xx from the branch after the proxy sent its non-2xx final (Timer C\'s 408) is still forwarded to the caller (§16.7 step 10)', async (t) => {
  const c = setup(t);
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  const call = aliceCall({ callId: 'late-2xx' });
  c.from(ALICE, call.invite);
  only(t, c.net.take(ALICE), 100);
  const inv = only(t, c.net.take(BOB), 'INVITE');
  c.from(BOB, answer(inv, 180, { toTag: 'b-late' }));
  only(t, c.net.take(ALICE), 180);
  // Timer C (300 ms here) runs out: CANCEL downstream, 408 upstream.
  let final: SipResponse | undefined;
  for (const until = Date.now() + 2000; Date.now() < until && !final; ) {
    await sleep(20);
    final = c.net.take(ALICE).map(asResponse).find((r) => r.status >= 300);
  }
  t.is(final?.status, 408);
  // Bob answers at that moment, before the CANCEL reached him.
  c.from(BOB, answer(inv, 200, { toTag: 'b-late', contact: BOB_CONTACT }));
  t.true(c.net.take(ALICE).some((m) => m.kind === 'response' && m.status === 200), 'the 200 reaches alice');
});

test('a lone branch\'s 503 to a non-INVITE goes up as 500 (§16.7 step 6)', async (t) => {
  const c = setup(t);
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  c.from(ALICE, req({ method: 'MESSAGE', uri: 'sip:bob@10.0.0.9', via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-m503;rport', from: '<sip:alice@10.0.0.9>;tag=m5', to: '<sip:bob@10.0.0.9>', callId: 'msg-503', cseq: 1 }));
  const m = only(t, c.net.take(BOB), 'MESSAGE');
  c.from(BOB, answer(m, 503, { toTag: 'b-503' }));
  t.is(asResponse(only(t, c.net.take(ALICE), 500)).status, 500);
  await settle(t, c);
});

test('a Route naming the proxy with a user part is still ours: removed, and the request goes on (§16.4)', async (t) => {
  const c = setup(t);
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  c.from(ALICE, req({ method: 'MESSAGE', uri: 'sip:bob@10.0.0.9', route: `<sip:proxy@${PROXY.host}:${PROXY.port};lr>`, via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-mru;rport', from: '<sip:alice@10.0.0.9>;tag=mr', to: '<sip:bob@10.0.0.9>', callId: 'msg-route-user', cseq: 1 }));
  const m = asRequest(only(t, c.net.take(BOB), 'MESSAGE'));
  t.deepEqual(getHeaderValues(m, 'route'), []);
  t.deepEqual(c.net.take(PROXY), []);
  c.from(BOB, answer(m, 200, { toTag: 'b-mr' }));
  only(t, c.net.take(ALICE), 200);
  await settle(t, c);
});

// ---- 5. CANCEL (§16.10, §9.1) ----

test('a CANCEL with no INVITE transaction here is forwarded statelessly to the binding, on the same branch when retransmitted, and its 200 reaches the caller (§16.10, §16.11); to another domain or along a Route, 481', async (t) => {
  const c = setup(t);
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  // Alice behind a NAT; the INVITE this CANCEL names never passed this proxy's transactions.
  const natted = { host: '10.0.0.1', port: 40000 };
  const call = aliceCall({ via: (b) => `SIP/2.0/UDP 192.168.1.50:5062;branch=${b};rport`, callId: 'lone-cancel' });
  c.from(natted, call.cancel());
  t.deepEqual(c.net.take(natted), [], 'not answered by the proxy itself');
  const out = asRequest(only(t, c.net.take(BOB), 'CANCEL'));
  t.is(out.uri, BOB_CONTACT, 'routed as its INVITE would be: the registered contact (§16.5)');
  t.regex(vias(out)[0]!, OUR_VIA);
  t.deepEqual(vias(out).slice(1), ['SIP/2.0/UDP 192.168.1.50:5062;branch=z9hG4bK-a-inv-lone-cancel;rport=40000;received=10.0.0.1']);
  t.is(getHeader(out, 'max-forwards'), '69');
  t.deepEqual(getHeaderValues(out, 'record-route'), []);
  t.is(getHeader(out, 'cseq'), '1 CANCEL');
  t.deepEqual(counts(c.sup.stats()), { ...NOTHING, serverTransactions: 1 }, 'no transaction for the CANCEL (the one left is the REGISTER\'s)');

  // §16.11: a retransmission goes out again with the same branch, so bob's transaction absorbs it.
  c.from(natted, call.cancel());
  t.deepEqual(c.net.take(natted), []);
  t.deepEqual(vias(asRequest(only(t, c.net.take(BOB), 'CANCEL'))), vias(out));
  // Another CANCEL (another INVITE's branch) gets another branch.
  c.from(natted, aliceCall({ callId: 'lone-cancel-2' }).cancel());
  t.notDeepEqual(vias(asRequest(only(t, c.net.take(BOB), 'CANCEL')))[0], vias(out)[0]);

  // Bob's 200 has our Via on top and no client transaction: passed upstream statelessly (§16.7, §18.2.2, RFC 3581).
  c.from(BOB, answer(out, 200, { toTag: 'b-lone' }));
  const ok = asResponse(only(t, c.net.take(natted), 200));
  t.deepEqual(vias(ok), vias(out).slice(1), 'our Via removed, sent to received:rport');
  t.is(getHeader(ok, 'cseq'), '1 CANCEL');
  t.deepEqual(c.net.take({ host: '192.168.1.50', port: 5062 }), []);
  // Only to a phone registered here: to another domain, or along a Route a sender wrote (ours,
  // then anyone's), a CANCEL of an INVITE this proxy never saw is no relay for strangers: 481.
  c.from(ALICE, aliceCall({ uri: 'sip:carol@10.0.0.7', callId: 'lone-cancel-3' }).cancel());
  only(t, c.net.take(ALICE), 481);
  const routed = req({
    method: 'CANCEL', uri: 'sip:bob@10.0.0.9', route: `${OUR_ROUTE}, <sip:10.0.0.7:5060;lr>`, via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-a-routed',
    from: '"Alice" <sip:alice@10.0.0.9>;tag=a-tag', to: '<sip:bob@10.0.0.9>', callId: 'lone-cancel-4', cseq: 1, cseqMethod: 'CANCEL',
  });
  c.from(ALICE, routed);
  only(t, c.net.take(ALICE), 481);
  t.deepEqual(c.net.take(NEXT), [], 'nothing relayed');
  await settle(t, c);
});

test('a CANCEL with no INVITE transaction and nowhere to go gets 481 with no transaction; Max-Forwards and the proxy itself still stop it (§16.10, §9.2, §16.3)', async (t) => {
  const c = setup(t);
  const expectStateless = (status: number, cancel: Buffer): SipResponse => {
    c.from(ALICE, cancel);
    c.from(ALICE, cancel);
    const [first, again] = c.net.take(ALICE).map(asResponse);
    t.is(first?.status, status);
    t.is(getHeader(first!, 'cseq'), '1 CANCEL');
    t.regex(tagOf(getHeader(first!, 'to')) ?? '', /^sl/, 'a stateless To tag');
    t.is(getHeader(again!, 'to'), getHeader(first!, 'to'), 'the retransmission gets the same answer (§8.2.6.2)');
    t.is(c.sup.stats().serverTransactions, 0, 'no transaction kept for it');
    return first!;
  };
  // An AOR never registered: nothing here or beyond can hold the INVITE.
  expectStateless(481, aliceCall({ uri: 'sip:dave@10.0.0.9', callId: 'c-dave' }).cancel());
  // The Request-URI is the proxy itself.
  expectStateless(481, aliceCall({ uri: 'sip:10.0.0.9', callId: 'c-self' }).cancel());
  // Every binding is the proxy (as an older journal may leave it): not sent to ourselves.
  c.sup.location.restore('g1', 'sip:g1@10.0.0.9', { contact: `sip:g1@${PROXY.host}:${PROXY.port}`, key: 'k', q: 1, expiresAt: Date.now() + 60_000, callId: 'x', cseq: 1, source: '10.0.0.3:5060' });
  expectStateless(481, aliceCall({ uri: 'sip:g1@10.0.0.9', callId: 'c-g1' }).cancel());
  // Another domain's Request-URI whose maddr is this proxy.
  expectStateless(481, aliceCall({ uri: `sip:x@example.org;maddr=${PROXY.host}`, callId: 'c-own' }).cancel());
  t.deepEqual(c.net.take(PROXY), [], 'nothing sent to the proxy itself');

  // §16.3 step 3 applies as to any request passed on: out of hops is 483, not forwarded.
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  for (const until = Date.now() + 3000; Date.now() < until && c.sup.stats().serverTransactions > 0; ) await sleep(20);
  const tired = Buffer.from(aliceCall({ callId: 'c-mf0' }).cancel().toString().replace('Max-Forwards: 70', 'Max-Forwards: 0'));
  expectStateless(483, tired);
  t.deepEqual(c.net.take(BOB), []);
  await settle(t, c);
});

test('CANCEL of a ringing INVITE: 200 at once, CANCEL downstream on the same branch, the 487 goes upstream', async (t) => {
  const c = setup(t);
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  const call = aliceCall();
  c.from(ALICE, call.invite);
  only(t, c.net.take(ALICE), 100);
  const inv = asRequest(only(t, c.net.take(BOB), 'INVITE'));
  c.from(BOB, answer(inv, 180, { toTag: 'b-tag' }));
  only(t, c.net.take(ALICE), 180);

  c.from(ALICE, call.cancel());
  const ok = asResponse(only(t, c.net.take(ALICE), 200));
  t.is(getHeader(ok, 'cseq'), '1 CANCEL');
  const cancel = asRequest(only(t, c.net.take(BOB), 'CANCEL'));
  // §9.1: same Request-URI, Call-ID, From, To, CSeq number and a single Via equal to the INVITE's top Via.
  t.deepEqual(vias(cancel), [vias(inv)[0]]);
  t.is(cancel.uri, inv.uri);
  t.is(getHeader(cancel, 'cseq'), '1 CANCEL');
  t.is(getHeader(cancel, 'call-id'), call.callId);
  t.is(getHeader(cancel, 'to'), getHeader(inv, 'to'));

  c.from(BOB, answer(cancel, 200));
  t.deepEqual(c.net.take(ALICE), [], 'the 200 for our CANCEL is hop by hop');
  c.from(BOB, answer(inv, 487, { toTag: 'b-tag' }));
  only(t, c.net.take(BOB), 'ACK');
  const terminated = asResponse(only(t, c.net.take(ALICE), 487));
  t.is(getHeader(terminated, 'cseq'), '1 INVITE');
  c.from(ALICE, call.ackNon2xx('b-tag'));
  t.deepEqual(c.net.take(BOB), []);
  await settle(t, c);
  t.deepEqual(c.events.map((e) => [e.name, e.status]), [['call.ringing', undefined], ['call.cancelled', 487]]);
});

// ---- 6. re-INVITE (§14, §16.6) ----

test('a re-INVITE inside the dialog is relayed both ways and is no new call', async (t) => {
  const c = setup(t);
  const call = aliceCall();
  answeredCall(t, c, call);
  c.from(ALICE, call.inDialog('ACK', 1, 'z9hG4bK-a-ack'));
  only(t, c.net.take(BOB), 'ACK');

  c.from(ALICE, call.inDialog('INVITE', 2, 'z9hG4bK-a-reinv', true));
  only(t, c.net.take(ALICE), 100);
  const re = asRequest(only(t, c.net.take(BOB), 'INVITE'));
  t.is(re.uri, BOB_CONTACT);
  t.deepEqual(getHeaderValues(re, 'route'), []);
  t.deepEqual(getHeaderValues(re, 'record-route'), [], 'no Record-Route inside a dialog');
  t.is(tagOf(getHeader(re, 'to')), 'b-tag');
  t.is(re.body.toString(), SDP);
  c.from(BOB, answer(re, 200, { contact: BOB_CONTACT, body: SDP }));
  const ok = asResponse(only(t, c.net.take(ALICE), 200));
  t.is(getHeader(ok, 'cseq'), '2 INVITE');
  c.from(ALICE, call.inDialog('ACK', 2, 'z9hG4bK-a-ack2'));
  t.is(getHeader(asRequest(only(t, c.net.take(BOB), 'ACK')), 'cseq'), '2 ACK');

  t.deepEqual(names(c.events), ['call.ringing', 'call.answered'], 'the re-INVITE adds no lifecycle fact');
  // The re-INVITE's transactions end; the call itself stays until its BYE.
  await settle(t, c, { ...NOTHING, calls: 1, dialogs: 1 });
});

// Regression: a re-INVITE's own call actor once re-indexed the dialog to itself on its 2xx and
// dropped it when it ended, so the later BYE found no call (no call.ended, the call actor leaked).
test('a BYE after a re-INVITE still ends the call (call.ended, no actor left)', async (t) => {
  const c = setup(t);
  const call = aliceCall();
  answeredCall(t, c, call);
  c.from(ALICE, call.inDialog('ACK', 1, 'z9hG4bK-a-ack'));
  c.from(ALICE, call.inDialog('INVITE', 2, 'z9hG4bK-a-reinv', true));
  const re = asRequest(c.net.take(BOB)[1]);
  c.from(BOB, answer(re, 200, { contact: BOB_CONTACT, body: SDP }));
  c.from(ALICE, call.inDialog('ACK', 2, 'z9hG4bK-a-ack2'));
  c.net.take(BOB);
  c.net.take(ALICE);
  t.is(c.sup.stats().dialogs, 1, 'the dialog is still known after the re-INVITE');

  c.from(ALICE, call.inDialog('BYE', 3, 'z9hG4bK-a-bye'));
  const bye = asRequest(only(t, c.net.take(BOB), 'BYE'));
  c.from(BOB, answer(bye, 200));
  only(t, c.net.take(ALICE), 200);
  await settle(t, c);
  t.deepEqual(names(c.events), ['call.ringing', 'call.answered', 'call.ended']);
});

// ---- 7. MESSAGE (§16.6, RFC 3428) ----

test('MESSAGE to a registered user is relayed and its 200 comes back; to an unknown user it is 404', async (t) => {
  const c = setup(t);
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  const message = (user: string, branch: string) => req({
    method: 'MESSAGE', uri: `sip:${user}@10.0.0.9`, via: `SIP/2.0/UDP 10.0.0.1:5060;branch=${branch};rport`,
    from: '<sip:alice@10.0.0.9>;tag=m1', to: `<sip:${user}@10.0.0.9>`, callId: `msg-${user}`, cseq: 1,
    headers: ['Content-Type: text/plain'], body: 'hello bob',
  });

  c.from(ALICE, message('bob', 'z9hG4bK-m1'));
  t.deepEqual(c.net.take(ALICE), [], 'no 100 for a non-INVITE (§16.2)');
  const m = asRequest(only(t, c.net.take(BOB), 'MESSAGE'));
  t.is(m.uri, BOB_CONTACT);
  t.is(m.body.toString(), 'hello bob');
  t.is(getHeader(m, 'content-type'), 'text/plain');
  t.deepEqual(getHeaderValues(m, 'record-route'), [], 'MESSAGE creates no dialog');
  t.regex(vias(m)[0]!, OUR_VIA);
  c.from(BOB, answer(m, 200, { toTag: 'b-m' }));
  const ok = asResponse(only(t, c.net.take(ALICE), 200));
  t.is(getHeader(ok, 'cseq'), '1 MESSAGE');
  t.is(tagOf(getHeader(ok, 'to')), 'b-m');
  t.deepEqual(vias(ok), ['SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-m1;rport=5060;received=10.0.0.1']);

  c.from(ALICE, message('dave', 'z9hG4bK-m2'));
  only(t, c.net.take(ALICE), 404);
  t.deepEqual(c.net.take(BOB), []);
  await settle(t, c);
  t.deepEqual(c.events, [], 'a MESSAGE is no call');
});

test('a retransmitted MESSAGE gets the same final response again, its reason phrase rewritten as the first time (§17.2.2)', async (t) => {
  let rewrites = 0;
  const c = setup(t, { rewriteResponse: (r) => (rewrites++, r.status === 200 ? { ...r, reason: 'Dobre' } : r) });
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  rewrites = 0;
  const message = req({
    method: 'MESSAGE', uri: 'sip:bob@10.0.0.9', via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-rt1;rport',
    from: '<sip:alice@10.0.0.9>;tag=rt', to: '<sip:bob@10.0.0.9>', callId: 'msg-rt', cseq: 1,
    headers: ['Content-Type: text/plain'], body: 'again?',
  });
  c.from(ALICE, message);
  const m = only(t, c.net.take(BOB), 'MESSAGE');
  c.from(BOB, answer(m, 200, { toTag: 'b-rt' }));
  const first = only(t, c.net.take(ALICE), 200);
  t.is(asResponse(first).reason, 'Dobre');
  t.is(rewrites, 1, 'rewritten once, before the server transaction keeps it');
  // The request again, as the caller's Timer E would send it: the server transaction answers it.
  c.from(ALICE, message);
  const again = only(t, c.net.take(ALICE), 200);
  t.deepEqual(c.net.bytesOf(again), c.net.bytesOf(first), 'the same bytes');
  t.is(rewrites, 1, 'the resent response is sent as it is held, not rewritten again');
  t.deepEqual(c.net.take(BOB), [], 'absorbed: nothing forwarded again');
  await settle(t, c);
});

// RFC 4320 §4.2: a transaction-stateful element MUST NOT send 408 to a non-INVITE request; one
// that cannot answer before the transaction expires sends no final response at all.

/** Bob's second phone, for forked requests. */
const BOB2 = { host: '10.0.0.2', port: 5062 };

function aliceMessage(callId: string, branch = `z9hG4bK-${callId}`): Buffer {
  return req({
    method: 'MESSAGE', uri: 'sip:bob@10.0.0.9', via: `SIP/2.0/UDP 10.0.0.1:5060;branch=${branch};rport`,
    from: '<sip:alice@10.0.0.9>;tag=m4320', to: '<sip:bob@10.0.0.9>', callId, cseq: 1,
    headers: ['Content-Type: text/plain'], body: 'anyone there?',
  });
}

/** Waits (bounded) until `done` holds; false if it never did. */
async function until(done: () => boolean, ms = 3000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(5)) if (done()) return true;
  return done();
}

/** Waits out the REGISTER's Timer J, so that the server transactions counted are the MESSAGE's. */
async function registered(t: ExecutionContext, c: Ctx, contacts: string[]): Promise<void> {
  register(c, BOB, 'bob', contacts);
  t.true(await until(() => c.sup.stats().serverTransactions === 0), 'the REGISTER transaction is gone');
}

test('a MESSAGE to a binding that never answers gets no 408, no response at all; its server transaction ends with Timer F (RFC 4320 §4.2)', async (t) => {
  const c = setup(t);
  await registered(t, c, [`<${BOB_CONTACT}>`]);
  const message = aliceMessage('msg-dead');
  c.from(ALICE, message);
  only(t, c.net.take(BOB), 'MESSAGE');
  t.like(c.sup.stats(), { serverTransactions: 1, clientTransactions: 1, relays: 0 });
  // The caller's Timer E: absorbed in Trying, nothing to resend yet (§17.2.2).
  await sleep(50);
  c.from(ALICE, message);
  t.deepEqual(c.net.take(ALICE), []);
  // Timer F (64*T1 = 640 ms) ends the client transaction, and the server transaction with it:
  // there is no final response for Timer J to keep.
  t.true(await until(() => c.sup.stats().clientTransactions === 0), 'Timer F fired');
  t.is(c.sup.stats().serverTransactions, 0, 'the server transaction ended at once, not after Timer J');
  t.true(c.net.take(BOB).length > 1, 'the MESSAGE was retransmitted downstream until Timer F (§17.1.2.2)');
  await sleep(100);
  t.deepEqual(kinds(c.net.take(ALICE)), [], 'nothing reached the caller');
  t.deepEqual(c.net.take(BOB), [], 'nothing more downstream');
  await settle(t, c);
  t.is(c.sup.stats().internalErrors, 0);
});

test('a MESSAGE retransmitted after its server transaction expired is a new transaction, forwarded again, and also ends unanswered (RFC 4320 §4.2)', async (t) => {
  const c = setup(t);
  await registered(t, c, [`<${BOB_CONTACT}>`]);
  const message = aliceMessage('msg-late-retransmission');
  c.from(ALICE, message);
  const first = asRequest(c.net.take(BOB)[0]);
  t.true(await until(() => c.sup.stats().clientTransactions === 0 && c.sup.stats().serverTransactions === 0));
  c.net.take(BOB); // the first transaction's retransmissions
  // A sender with a longer T1 than ours still retransmits: nothing remembers the request now.
  c.from(ALICE, message);
  const again = asRequest(only(t, c.net.take(BOB), 'MESSAGE'));
  t.not(vias(again)[0], vias(first)[0], 'a new client transaction, with a branch of its own');
  await settle(t, c);
  t.deepEqual(c.net.take(ALICE), [], 'no 408 either time');
});

test('a forked MESSAGE where every branch times out gets no response; no relay or transaction is left (RFC 4320 §4.2)', async (t) => {
  const c = setup(t);
  await registered(t, c, [`<${BOB_CONTACT}>`, `<sip:bob@${BOB2.host}:${BOB2.port}>`]);
  c.from(ALICE, aliceMessage('msg-fork-dead'));
  only(t, c.net.take(BOB), 'MESSAGE');
  only(t, c.net.take(BOB2), 'MESSAGE');
  t.like(c.sup.stats(), { serverTransactions: 1, clientTransactions: 2, relays: 1 });
  t.true(await until(() => c.sup.stats().clientTransactions === 0), 'Timer F fired on both branches');
  t.like(c.sup.stats(), { serverTransactions: 0, relays: 0 });
  await sleep(100);
  t.deepEqual(c.net.take(ALICE), [], 'nothing reached the caller');
  await settle(t, c);
});

const forkedAnswerAndTimeout = test.macro({
  async exec(t, status: number, up: number) {
    const c = setup(t);
    await registered(t, c, [`<${BOB_CONTACT}>`, `<sip:bob@${BOB2.host}:${BOB2.port}>`]);
    c.from(ALICE, aliceMessage(`msg-fork-${status}`));
    const m = only(t, c.net.take(BOB), 'MESSAGE');
    only(t, c.net.take(BOB2), 'MESSAGE');
    c.from(BOB, answer(m, status, { toTag: 'b-fork' }));
    t.deepEqual(c.net.take(ALICE), [], 'the relay waits for the other branch (§16.7 step 6)');
    // Bob's second phone never answers: its Timer F ends the response context.
    t.true(await until(() => c.net.all(ALICE).length > 0), 'a response reached the caller');
    const final = asResponse(only(t, c.net.take(ALICE), up));
    t.is(tagOf(getHeader(final, 'to')), 'b-fork', "the phone's own answer, not one made here");
    await settle(t, c);
    t.deepEqual(c.net.take(ALICE), [], 'nothing more reached the caller');
  },
  title: (_, status: number, up: number) => `a forked MESSAGE where one branch answers ${status} and the other times out: the caller gets ${up}, not 408 (RFC 4320 §4.2, §16.7 step 6)`,
});
test(forkedAnswerAndTimeout, 404, 404);
test(forkedAnswerAndTimeout, 503, 500);

// ---- 8. REGISTER (§10.3) ----

test('REGISTER: the 200 lists every binding of the AOR with its expires', async (t) => {
  const c = setup(t);
  const first = register(c, BOB, 'bob', ['<sip:bob@10.0.0.2:5060>', '<sip:bob@10.0.0.2:5062>'], { expires: 300 });
  t.is(first.status, 200);
  t.deepEqual(getHeaderValues(first, 'contact'), ['<sip:bob@10.0.0.2:5060>;expires=300', '<sip:bob@10.0.0.2:5062>;expires=300']);
  const desk = { host: '10.0.0.4', port: 5060 };
  const second = register(c, desk, 'bob', ['<sip:bob@10.0.0.4:5060>;expires=600'], { callId: 'bob-desk' });
  t.is(second.status, 200);
  const listed = getHeaderValues(second, 'contact');
  t.is(listed.length, 3, 'step 8: all current bindings, not just this request\'s');
  t.deepEqual(listed.map((v) => v.replace(/;expires=\d+$/, '')).sort(), ['<sip:bob@10.0.0.2:5060>', '<sip:bob@10.0.0.2:5062>', '<sip:bob@10.0.0.4:5060>']);
  for (const v of listed) t.regex(v, /;expires=(29\d|300|59\d|600)$/);
  t.truthy(getHeader(second, 'date'));
  t.is(c.sup.stats().bindings, 3);
  await settle(t, c);
});

test('REGISTER: an interval below the minimum is 423 with Min-Expires', async (t) => {
  const c = setup(t);
  const r = register(c, BOB, 'bob', [`<${BOB_CONTACT}>`], { expires: 30 });
  t.is(r.status, 423);
  t.is(getHeader(r, 'min-expires'), '60');
  t.is(c.sup.stats().bindings, 0);
  await settle(t, c);
});

test('REGISTER: Contact * with Expires 0 removes every binding', async (t) => {
  const c = setup(t);
  register(c, BOB, 'bob', ['<sip:bob@10.0.0.2:5060>', '<sip:bob@10.0.0.2:5062>'], { expires: 300 });
  register(c, { host: '10.0.0.4', port: 5060 }, 'bob', ['<sip:bob@10.0.0.4:5060>'], { callId: 'bob-desk' });
  t.is(c.sup.stats().bindings, 3);
  const r = register(c, BOB, 'bob', ['*'], { expires: 0, cseq: 2 });
  t.is(r.status, 200);
  t.deepEqual(getHeaderValues(r, 'contact'), []);
  t.is(c.sup.stats().bindings, 0);
  // bob is known but unreachable now.
  const call = aliceCall();
  c.from(ALICE, call.invite);
  const got = c.net.take(ALICE);
  t.deepEqual(kinds(got), [100, 480]);
  c.from(ALICE, call.ackNon2xx(tagOf(getHeader(got[1]!, 'to'))!));
  await settle(t, c);
});

test('REGISTER: a phone back from a new port with the same +sip.instance and reg-id replaces its binding; an INVITE reaches the new contact only, and its 486 reaches the caller at once (RFC 5626 §6)', async (t) => {
  const c = setup(t);
  const instance = ';+sip.instance="<urn:uuid:44796a60-5f5b-4b2a-9a4e-0a1b2c3d4e5f>";reg-id=1';
  const OLD = { host: '10.0.0.5', port: 5747 };
  const NEW = { host: '10.0.0.5', port: 5749 };
  const first = register(c, OLD, 'grace', [`<sip:grace-0x1@10.0.0.5:5747>${instance}`], { expires: 600 });
  t.is(first.status, 200);
  const second = register(c, NEW, 'grace', [`<sip:grace-0x1@10.0.0.5:5749>${instance}`], { expires: 600, cseq: 2 });
  t.is(second.status, 200);
  t.deepEqual(getHeaderValues(second, 'contact').map((v) => v.replace(/;expires=\d+/, '')), [`<sip:grace-0x1@10.0.0.5:5749>${instance}`], 'the 200 lists the current binding only');
  t.is(c.sup.stats().bindings, 1);
  const call = aliceCall({ uri: 'sip:grace@10.0.0.9' });
  c.from(ALICE, call.invite);
  only(t, c.net.take(ALICE), 100);
  const inv = asRequest(only(t, c.net.take(NEW), 'INVITE'));
  t.is(inv.uri, 'sip:grace-0x1@10.0.0.5:5749');
  t.deepEqual(c.net.take(OLD), [], 'no branch to the dead contact');
  c.from(NEW, answer(inv, 486, { toTag: 'g-tag' }));
  only(t, c.net.take(NEW), 'ACK');
  only(t, c.net.take(ALICE), 486);
  c.from(ALICE, call.ackNon2xx('g-tag'));
  await settle(t, c);
  t.deepEqual(names(c.events), ['call.busy']);
});

// ---- 10. stateless forwarding of stray responses (§16.7 step 3 / §16.11, §18.2.2, RFC 3581) ----

test('a late 200 for an INVITE that matches no transaction but has our Via on top is forwarded to received/rport; a late non-INVITE response is not (RFC 4320 §4.3)', async (t) => {
  const c = setup(t);
  // Alice behind a NAT: she writes her private address, the packet comes from the public one.
  const natted = { host: '10.0.0.1', port: 40000 };
  const call = aliceCall({ via: (b) => `SIP/2.0/UDP 192.168.1.50:5062;branch=${b};rport` });
  const { inv, ok } = answeredCall(t, c, call, natted);
  t.is(vias(inv)[1], 'SIP/2.0/UDP 192.168.1.50:5062;branch=z9hG4bK-a-inv-call-1;rport=40000;received=10.0.0.1');
  c.from(natted, call.inDialog('ACK', 1, 'z9hG4bK-a-ack'));
  c.from(natted, call.inDialog('BYE', 2, 'z9hG4bK-a-bye'));
  const bye = asRequest(c.net.take(BOB)[1]);
  c.from(BOB, answer(bye, 200));
  only(t, c.net.take(natted), 200);
  await settle(t, c);

  // Every transaction is gone; bob retransmits his 200 for the INVITE.
  c.from(BOB, ok);
  const late = asResponse(only(t, c.net.take(natted), 200));
  t.deepEqual(vias(late), [vias(inv)[1]], 'our Via removed, sent to received:rport');
  t.is(getHeader(late, 'cseq'), '1 INVITE');
  t.deepEqual(c.net.take({ host: '192.168.1.50', port: 5062 }), [], 'not to the private sent-by');
  // Bob's 200 for the BYE once more: a late non-INVITE response, its transactions gone, is not
  // forwarded by a transaction-stateful proxy (RFC 4320 §4.3).
  c.from(BOB, answer(bye, 200));
  t.deepEqual(c.net.take(natted), [], 'a late 200 for the BYE stops at the proxy');
  // A response whose top Via is not ours is dropped.
  const before = c.net.sent.length;
  c.from(BOB, wire('SIP/2.0 200 OK', ['Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-stray', 'From: <sip:alice@10.0.0.9>;tag=x', 'To: <sip:bob@10.0.0.9>;tag=y', 'Call-ID: stray', 'CSeq: 1 OPTIONS']));
  t.is(c.net.sent.length, before, 'not our Via: dropped');
  // Our Via on top, but the next one names its host where a request's packet would have put an
  // address (received, §18.2.1): forged, and a name could be this proxy's own; dropped.
  c.from(BOB, wire('SIP/2.0 200 OK', ['Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-forged', 'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-x;received=localhost;rport=5070', 'From: <sip:alice@10.0.0.9>;tag=x', 'To: <sip:bob@10.0.0.9>;tag=y', 'Call-ID: forged', 'CSeq: 1 INVITE']));
  t.is(c.net.sent.length, before, 'a name in received: dropped');
  await settle(t, c);
});

test('with authentication on, an ACK for a 2xx goes on without our realm\'s credentials, and a stranger\'s ACK is not relayed', async (t) => {
  const authenticator = new Authenticator({ realm: '10.0.0.9', users: new Map([['alice', [makeUserEntry('alice', '10.0.0.9', 'pw')]]]) });
  const c = setup(t, { authenticator });
  const ours = 'Proxy-Authorization: Digest username="alice", realm="10.0.0.9", nonce="n", uri="sip:bob@10.0.0.2:5060", response="0123456789abcdef0123456789abcdef"';
  const theirs = 'Proxy-Authorization: Digest username="alice", realm="elsewhere", nonce="n", uri="sip:bob@10.0.0.2:5060", response="0123456789abcdef0123456789abcdef"';
  // Inside a dialog we Record-Routed (our Route on top), to the callee's Contact.
  c.from(ALICE, req({
    method: 'ACK', uri: BOB_CONTACT, via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKack1', route: OUR_ROUTE,
    from: '<sip:alice@10.0.0.9>;tag=a1', to: '<sip:bob@10.0.0.9>;tag=b1', callId: 'ack-auth', cseq: 1, headers: [ours, theirs],
  }));
  const ack = asRequest(only(t, c.net.take(BOB), 'ACK'));
  t.deepEqual(getHeaderValues(ack, 'proxy-authorization').map((v) => /realm="([^"]+)"/.exec(v)![1]), ['elsewhere']);
  // A stranger's ACK for a host elsewhere, not through our Route: dropped, not relayed.
  c.from(ALICE, req({
    method: 'ACK', uri: 'sip:x@203.0.113.5', via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKack2',
    from: '<sip:a@evil.example>;tag=e1', to: '<sip:x@203.0.113.5>;tag=x1', callId: 'ack-relay', cseq: 1,
  }));
  t.deepEqual(c.net.take({ host: '203.0.113.5', port: 5060 }), []);
});

// ---- 11. restart recovery: a call ringing when the proxy died (§16.7 step 3, §16.8) ----

/** A call the journal shows ringing, restored in a new process: alice called bob through the old one. */
function restoreRinging(c: Ctx, reason = 'proxy restarted'): void {
  c.sup.restoreCall({ phase: 'ringing', callId: 'call-1', fromTag: 'a-tag', from: 'sip:alice@10.0.0.9', to: 'sip:bob@10.0.0.9', reason });
}

/** Bob's response to the INVITE the old process forwarded: our Via on top, with a branch no transaction here knows. */
function bobToOldInvite(status: number, cseq = '1 INVITE'): Buffer {
  return wire(`SIP/2.0 ${status} ${rfcReasonPhrase(status)}`, [
    'Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-old-process',
    'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-a-inv-call-1;received=10.0.0.1;rport=5060',
    'From: "Alice" <sip:alice@10.0.0.9>;tag=a-tag',
    'To: <sip:bob@10.0.0.9>;tag=b-tag',
    'Call-ID: call-1',
    `CSeq: ${cseq}`,
    status >= 200 && status < 300 && `Record-Route: ${OUR_ROUTE}`,
    status >= 200 && status < 300 && `Contact: <${BOB_CONTACT}>`,
  ]);
}

test('after a restart, the caller\'s CANCEL of a call that was ringing reaches the phone on its INVITE\'s branch, and the call is logged cancelled (§16.10, §9.2)', async (t) => {
  const before = setup(t);
  register(before, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  const call = aliceCall();
  before.from(ALICE, call.invite);
  only(t, before.net.take(ALICE), 100);
  const inv = asRequest(only(t, before.net.take(BOB), 'INVITE'));
  before.from(BOB, answer(inv, 180, { toTag: 'b-tag' }));
  only(t, before.net.take(ALICE), 180);
  before.sup.stop();

  // The new process: the binding and the ringing call restored from the journal, no transaction.
  const after = setup(t);
  register(after, BOB, 'bob', [`<${BOB_CONTACT}>`]);
  restoreRinging(after);
  after.from(ALICE, call.cancel());
  const cancel = asRequest(only(t, after.net.take(BOB), 'CANCEL'));
  t.is(vias(cancel)[0], vias(inv)[0], 'the branch of the INVITE bob\'s server transaction holds');
  t.is(cancel.uri, inv.uri);
  after.from(BOB, answer(cancel, 200));
  t.is(getHeader(asResponse(only(t, after.net.take(ALICE), 200)), 'cseq'), '1 CANCEL');
  after.from(BOB, answer(inv, 487, { toTag: 'b-tag' }));
  only(t, after.net.take(ALICE), 487);
  t.deepEqual(after.events.map((e) => [e.name, e.status]), [['call.cancelled', 487]]);
  after.from(ALICE, call.ackNon2xx('b-tag'));
  after.net.take(BOB);
  await settle(t, after);
});

for (const engine of ['xstate', 'lean'] as const) {
  test(`restored ringing call (${engine}): its 2xx passes statelessly, is journaled answered, and the BYE ends the call`, async (t) => {
    const c = setup(t, { engine });
    register(c, BOB, 'bob', [`<${BOB_CONTACT}>`]);
    restoreRinging(c);
    t.is(c.sup.stats().calls, 1);
    // A response to another method of the call is not the INVITE's final; with no transaction of
    // this process for it, it is not forwarded either (RFC 4320 §4.3).
    c.from(BOB, bobToOldInvite(200, '1 OPTIONS'));
    t.deepEqual(c.net.take(ALICE), []);
    t.deepEqual(c.events, []);
    c.from(BOB, bobToOldInvite(200));
    const ok = asResponse(only(t, c.net.take(ALICE), 200));
    t.deepEqual(vias(ok), ['SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-a-inv-call-1;received=10.0.0.1;rport=5060'], 'forwarded once, our Via removed');
    t.like(c.events[0], { name: 'call.answered', callId: 'call-1', fromTag: 'a-tag', status: 200, toTag: 'b-tag' });
    // The 2xx retransmitted: forwarded again, not a second answer.
    c.from(BOB, bobToOldInvite(200));
    only(t, c.net.take(ALICE), 200);
    t.deepEqual(names(c.events), ['call.answered']);
    c.from(ALICE, aliceCall().inDialog('BYE', 2, 'z9hG4bK-a-bye'));
    const bye = asRequest(only(t, c.net.take(BOB), 'BYE'));
    t.deepEqual(names(c.events), ['call.answered', 'call.ended']);
    c.from(BOB, answer(bye, 200));
    only(t, c.net.take(ALICE), 200);
    await settle(t, c);
  });

  test(`restored ringing call (${engine}): a 486 passes statelessly and is journaled busy`, async (t) => {
    const c = setup(t, { engine });
    restoreRinging(c);
    c.from(BOB, bobToOldInvite(180));
    only(t, c.net.take(ALICE), 180);
    c.from(BOB, bobToOldInvite(486));
    only(t, c.net.take(ALICE), 486);
    t.deepEqual(c.events.map((e) => [e.name, e.status]), [['call.busy', 486]]);
    await settle(t, c);
  });

  test(`restored ringing call (${engine}): with no final response it is journaled failed for its reason after Timer C`, async (t) => {
    const c = setup(t, { engine });
    restoreRinging(c, 'worker restarted');
    await sleep(150);
    t.deepEqual(c.events, [], 'not before Timer C (300 ms here)');
    t.is(c.sup.stats().calls, 1);
    await settle(t, c);
    t.deepEqual(c.events.map((e) => [e.name, e.reason]), [['call.failed', 'worker restarted']]);
    // A final response after that is forwarded as any stray response, journaling nothing.
    c.from(BOB, bobToOldInvite(200));
    only(t, c.net.take(ALICE), 200);
    t.is(c.events.length, 1);
  });
}

// ---- next hops named by a host name (§16.9, RFC 3263) ----

/** A resolver that knows one name, counting what it was asked. */
function fakeResolver(asked: string[]): NameResolver {
  return new NameResolver({
    lookup: (name) => {
      asked.push(name);
      if (name === 'example.test') return Promise.resolve(NEXT.host);
      // The proxy under another name, as localhost or 127.1 name a proxy on 127.0.0.1.
      if (name === 'me.test') return Promise.resolve(PROXY.host);
      return Promise.reject(new Error(`getaddrinfo ENOTFOUND ${name}`));
    },
  });
}

test('a next hop named by a host name is resolved, then forwarded to its address; the answer is cached', async (t) => {
  const asked: string[] = [];
  const c = setup(t, { resolver: fakeResolver(asked) });
  // Timer A (T1 = 10 ms here) may resend the INVITE, and Timer G the 486, before they are read.
  const invitesTo = (peer: Address) => {
    const ms = c.net.take(peer);
    t.true(ms.length > 0 && ms.every((m) => m.kind === 'request' && m.method === 'INVITE'), `INVITEs only: ${kinds(ms)}`);
    return asRequest(ms[0]);
  };
  const call = aliceCall({ uri: 'sip:carol@example.test', callId: 'named-hop' });
  c.from(ALICE, call.invite);
  t.true(await until(() => c.net.all(NEXT).length > 0), 'forwarded once the name resolved');
  const inv = invitesTo(NEXT);
  t.is(inv.uri, 'sip:carol@example.test', 'the Request-URI is left as it was');
  c.from(NEXT, answer(inv, 486, { toTag: 'c-tag' }));
  t.true(kinds(c.net.take(ALICE)).includes(486));
  c.from(ALICE, call.ackNon2xx('c-tag'));
  c.net.take(NEXT);
  // Another INVITE to the name (any case, §19.1.4): no second lookup.
  const again = aliceCall({ uri: 'sip:carol@EXAMPLE.test', callId: 'named-hop-2' });
  c.from(ALICE, again.invite);
  t.true(await until(() => c.net.all(NEXT).length > 0 && c.net.all(NEXT).some((x) => x.msg?.kind === 'request' && getHeader(x.msg, 'call-id') === 'named-hop-2')));
  t.deepEqual(asked, ['example.test']);
  const second = invitesTo(NEXT);
  c.from(NEXT, answer(second, 486, { toTag: 'c-tag' }));
  t.true(kinds(c.net.take(ALICE)).includes(486));
  c.from(ALICE, again.ackNon2xx('c-tag'));
  c.net.take(NEXT);
  await settle(t, c);
});

test('a next hop whose name does not resolve is answered 500 at once (§16.9: as a 503; §16.7 step 6), a call logged failed; nothing is sent', async (t) => {
  const asked: string[] = [];
  const c = setup(t, { resolver: fakeResolver(asked) });
  const call = aliceCall({ uri: 'sip:carol@nowhere.test', callId: 'no-such-name' });
  c.from(ALICE, call.invite);
  t.true(await until(() => c.net.all(ALICE).length > 1, 1000), 'answered before any timer');
  const final = c.net.take(ALICE).map(asResponse).find((r) => r.status >= 200);
  t.is(final!.status, 500);
  t.is(final!.reason, 'Unresolvable destination');
  t.deepEqual(c.events.map((e) => [e.name, e.status]), [['call.failed', 500]]);
  c.from(ALICE, call.ackNon2xx(tagOf(getHeader(final!, 'to')!)!));
  const message = req({
    method: 'MESSAGE', uri: 'sip:carol@nowhere.test', via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-m-nowhere;rport',
    from: '<sip:alice@10.0.0.9>;tag=m1', to: '<sip:carol@nowhere.test>', callId: 'no-such-name-m', cseq: 1,
    headers: ['Content-Type: text/plain'], body: 'hi',
  });
  c.net.take(ALICE); // the INVITE's 500 again, if Timer G (T1 = 10 ms here) fired before the ACK
  c.from(ALICE, message);
  const answered = () => c.net.all(ALICE).find((x) => x.msg !== null && getHeader(x.msg, 'call-id') === 'no-such-name-m')?.msg ?? undefined;
  t.true(await until(() => answered() !== undefined, 1000));
  t.is(asResponse(answered()).status, 500);
  t.is(asResponse(answered()).reason, 'Unresolvable destination');
  t.deepEqual(asked, ['nowhere.test'], 'the failure is cached too');
  t.is(c.net.sent.filter((x) => x.to.host !== ALICE.host).length, 0, 'nothing went anywhere else');
  await settle(t, c);
});

test('a CANCEL that comes while the next hop\'s name is looked up: the INVITE is not forwarded and gets 487 (§9.2)', async (t) => {
  let answer: (address: string) => void = () => {};
  const c = setup(t, { resolver: new NameResolver({ lookup: () => new Promise<string>((r) => (answer = r)) }) });
  const call = aliceCall({ uri: 'sip:carol@slow.test', callId: 'cancel-during-lookup' });
  c.from(ALICE, call.invite);
  c.from(ALICE, call.cancel());
  t.is(getHeader(asResponse(c.net.take(ALICE).find((m) => m.kind === 'response' && m.status === 200)), 'cseq'), '1 CANCEL');
  answer(NEXT.host);
  t.true(await until(() => c.net.all(ALICE).some((s) => s.msg?.kind === 'response' && s.msg.status === 487)), 'the INVITE answered 487');
  t.deepEqual(c.net.take(NEXT), [], 'nothing forwarded');
  c.from(ALICE, call.ackNon2xx(tagOf(getHeader(asResponse(c.net.take(ALICE).find((m) => m.kind === 'response' && m.status === 487)), 'to')!)!));
  await settle(t, c);
});

test('a contact, or its maddr, naming the proxy under another name is no target once resolved: a fork goes to the others, alone it is 482, and nothing is sent to the proxy itself', async (t) => {
  const c = setup(t, { resolver: fakeResolver([]) });
  register(c, BOB, 'bob', [`<${BOB_CONTACT}>`, '<sip:bob@me.test:5060>', '<sip:bob2@10.0.0.50:5060;maddr=me.test>']);
  const call = aliceCall({ callId: 'alias-fork' });
  c.from(ALICE, call.invite);
  t.true(await until(() => c.net.all(BOB).some((x) => x.msg?.kind === 'request' && x.msg.method === 'INVITE')), 'the real contact rings');
  t.deepEqual(c.net.all(PROXY), [], 'nothing sent to the proxy itself');
  t.deepEqual(c.net.all({ host: '10.0.0.50', port: 5060 }), []);
  const inv = c.net.take(BOB).find((m) => m.kind === 'request' && m.method === 'INVITE')!;
  c.from(BOB, answer(inv, 486, { toTag: 'b-busy' }));
  t.true(await until(() => c.net.all(ALICE).some((x) => x.msg?.kind === 'response' && x.msg.status === 486)), 'the only branch answered');
  c.from(ALICE, call.ackNon2xx('b-busy'));
  // A user whose only contact is the proxy under another name.
  register(c, CAROL, 'carol', ['<sip:carol@me.test:5060>']);
  const toCarol = aliceCall({ uri: 'sip:carol@10.0.0.9', callId: 'alias-only' });
  c.from(ALICE, toCarol.invite);
  t.true(await until(() => c.net.all(ALICE).some((x) => x.msg?.kind === 'response' && x.msg.status === 482 && getHeader(x.msg, 'call-id') === 'alias-only')));
  t.deepEqual(c.net.all(PROXY), []);
  t.deepEqual(c.net.sent.filter((x) => !/^\d+\.\d+\.\d+\.\d+$/.test(x.to.host)).map((x) => x.to.host), [], 'every datagram to an address, none to a name');
});

test('an ACK for a 2xx whose next hop is the proxy under another name is not sent (it would come back once a hop)', async (t) => {
  const c = setup(t, { resolver: fakeResolver([]) });
  const ack = req({
    method: 'ACK', uri: 'sip:bob@10.0.0.2:5060', route: `${OUR_ROUTE}, <sip:me.test:5060;lr>`, via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-alias-ack',
    from: '"Alice" <sip:alice@10.0.0.9>;tag=a-tag', to: '<sip:bob@10.0.0.9>;tag=b-tag', callId: 'alias-ack', cseq: 1,
  });
  c.from(ALICE, ack);
  await sleep(50);
  t.is(c.net.sent.length, 0, 'nothing sent anywhere');
  const toNext = req({
    method: 'ACK', uri: 'sip:bob@10.0.0.2:5060', route: `${OUR_ROUTE}, <sip:example.test:5060;lr>`, via: 'SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-named-ack',
    from: '"Alice" <sip:alice@10.0.0.9>;tag=a-tag', to: '<sip:bob@10.0.0.9>;tag=b-tag', callId: 'named-ack', cseq: 1,
  });
  c.from(ALICE, toNext);
  t.true(await until(() => c.net.all(NEXT).length > 0), 'a named next hop is resolved and the ACK sent there');
});
