// The pieces of `--workers N` (src/cluster) that decide where a datagram goes, what a worker's
// copy of the location service holds and its share of `--max-calls`.
import test from 'ava';
import fc from 'fast-check';
import { createSocket } from 'node:dgram';
import { callIdHash, callIdTextHash, ownerOf } from '../../src/cluster/callIdOwner.js';
import { WorkerBus } from '../../src/cluster/workerBus.js';
import { FactBatch } from '../../src/cluster/factBatch.js';
import { LocationService, type BindingEvent } from '../../src/actors/locationService.js';
import { planRegistration, DEFAULT_REGISTRAR_POLICY } from '../../src/proxy/registrar.js';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import type { SipRequest } from '../../src/sip/message.js';
import { parseDatagram } from '../../src/sip/parser.js';
import { getHeader } from '../../src/sip/message.js';
import { msg } from '../helpers/messages.js';
import type { FromWorker } from '../../src/cluster/ipc.js';
import { callShare } from '../../src/cluster/callShare.js';
import { parseProxyArgs, type ProxySettings } from '../../src/cli/args.js';

const request = (callIdLine: string, start = 'INVITE sip:bob@10.0.0.9 SIP/2.0') =>
  Buffer.from(`${start}\r\nVia: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:bob@x>\r\n${callIdLine}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`);

test('the Call-ID hash is the same in every form the header may take (§7.3.1, §7.3.3)', (t) => {
  const h = callIdTextHash('abc-123@10.0.0.1');
  for (const line of ['Call-ID: abc-123@10.0.0.1', 'call-id:abc-123@10.0.0.1', 'CALL-ID  :   abc-123@10.0.0.1  ', 'i: abc-123@10.0.0.1', 'I:abc-123@10.0.0.1\t']) {
    t.is(callIdHash(request(line)), h, line);
  }
  t.is(callIdHash(request('Call-ID: abc-123@10.0.0.1', 'SIP/2.0 200 OK')), h, 'a response');
  t.not(callIdHash(request('Call-ID: ABC-123@10.0.0.1')), h, 'Call-IDs compare case-sensitively (§20.8)');
});

test('no Call-ID: -1 (the worker that read it answers or drops it), also for one in the body or a look-alike header', (t) => {
  t.is(callIdHash(Buffer.from('INVITE sip:b@x SIP/2.0\r\nVia: x\r\n\r\nCall-ID: in-the-body\r\n')), -1);
  t.is(callIdHash(request('Call-IDx: nope')), -1);
  t.is(callIdHash(request('X-Call-ID: nope')), -1);
  t.is(callIdHash(Buffer.alloc(0)), -1);
  t.is(ownerOf(Buffer.from('garbage'), 4), -1);
});

test('the owner is the hash of the Call-ID the parser reads, however the datagram is written; arbitrary bytes never throw', (t) => {
  let compared = 0;
  let unusual = 0;
  const token = fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}@]{1,40}$/);
  // What a sender may do around the value: each either scans as the parser reads it, or makes the scan defer to the parser.
  const odd = fc.constantFrom('', '', '', 'fold', 'vt', 'nbsp', 'utf8', 'latin1', 'cr-before-colon', 'inner-space');
  fc.assert(
    fc.property(token, fc.constantFrom('Call-ID', 'call-id', 'CALL-ID', 'i', 'I', 'cAlL-iD'), fc.constantFrom('', ' ', '\t '), fc.constantFrom('', ' ', '  '),
      fc.integer({ min: 1, max: 8 }), odd, fc.constantFrom('', '\r\n', '\r\n\r\n'), fc.constantFrom('\r\n', '\n'),
      (callId, name, before, after, workers, quirk, keepAlive, eol) => {
        let value: Buffer = Buffer.from(callId);
        if (quirk === 'vt') value = Buffer.concat([value, Buffer.from([0x0b])]);
        if (quirk === 'nbsp') value = Buffer.concat([value, Buffer.from('\u00a0')]);
        if (quirk === 'utf8') value = Buffer.concat([value, Buffer.from('\u017e')]);
        if (quirk === 'latin1') value = Buffer.concat([value, Buffer.from([0xe9])]);
        if (quirk === 'inner-space') value = Buffer.from(`${callId} x`);
        const line = Buffer.concat([
          Buffer.from(`${name}${quirk === 'cr-before-colon' ? '\r' : ''}${before}:${after}`), value,
          Buffer.from(quirk === 'fold' ? `${eol} folded${after}` : after),
        ]);
        const head = `${keepAlive}INVITE sip:bob@10.0.0.9 SIP/2.0${eol}Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1${eol}From: <sip:a@x>;tag=1${eol}To: <sip:bob@x>${eol}`;
        const data = Buffer.concat([Buffer.from(head), line, Buffer.from(`${eol}CSeq: 1 INVITE${eol}Content-Length: 0${eol}${eol}`)]);
        const parsed = parseDatagram(data);
        const parsedValue = parsed.ok ? getHeader(parsed.message, 'call-id') : undefined;
        // Not a message the parser takes: whichever worker reads it answers 400 or drops it.
        if (parsedValue === undefined) return true;
        compared++;
        if (quirk !== '' || keepAlive !== '') unusual++;
        return ownerOf(data, workers) === callIdTextHash(parsedValue) % workers;
      }),
    { numRuns: 4000 },
  );
  t.true(compared > 2000, `only ${compared} of 4000 generated requests parsed: the property says little`);
  t.true(unusual > 1000, `only ${unusual} unusual ones parsed`);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
    const h = callIdHash(bytes);
    return h === -1 || (h >= 0 && h <= 0xffffffff);
  }), { numRuns: 2000 });
});

test('the worker bus delivers a datagram with its original source, and only from a peer', async (t) => {
  const got: Array<{ text: string; host: string; port: number }> = [];
  const a = new WorkerBus(() => {});
  const b = new WorkerBus((data, source) => got.push({ text: data.toString(), ...source }));
  const [pa, pb] = [await a.open(), await b.open()];
  t.teardown(() => (a.close(), b.close()));
  a.setPeers([pa, pb]);
  b.setPeers([pa, pb]);
  t.true(a.forward(1, Buffer.from('BYE sip:x SIP/2.0\r\n\r\n'), { host: '192.168.1.20', port: 5062 }));
  t.false(a.forward(2, Buffer.from('x'), { host: '1.2.3.4', port: 1 }), 'no such worker');
  a.setPeers([pa, 0]);
  t.false(a.forward(1, Buffer.from('x'), { host: '1.2.3.4', port: 1 }), 'a worker being started again (no bus port yet)');
  a.setPeers([pa, pb]);
  // A stranger on loopback cannot inject: its frames are counted and dropped.
  const stranger = createSocket('udp4');
  await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => stranger.close());
  const forged = Buffer.concat([Buffer.from([9]), Buffer.from('10.0.0.66'), Buffer.from([0x13, 0xc4]), Buffer.from('INVITE')]);
  stranger.send(forged, pb, '127.0.0.1');
  const deadline = Date.now() + 2000;
  while ((got.length < 1 || b.rejected < 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.deepEqual(got, [{ text: 'BYE sip:x SIP/2.0\r\n\r\n', host: '192.168.1.20', port: 5062 }]);
  t.is(b.rejected, 1);
});

const me = new LocalIdentity({ host: '10.0.0.9', port: 5060 });
function register(contact: string, expires: number, callId: string, cseq: number): SipRequest {
  return msg(`REGISTER sip:10.0.0.9 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK${cseq}
From: <sip:101@10.0.0.9>;tag=1
To: <sip:101@10.0.0.9>
Call-ID: ${callId}
CSeq: ${cseq} REGISTER
Contact: ${contact}
Expires: ${expires}

`) as SipRequest;
}

test('a copy of the location service follows another\'s changes without making events of them', (t) => {
  const clock = () => 1_000_000;
  const ownerEvents: BindingEvent[] = [];
  const copyEvents: BindingEvent[] = [];
  const owner = new LocationService((e) => ownerEvents.push(e), clock);
  const copy = new LocationService((e) => copyEvents.push(e), clock);
  const apply = (r: SipRequest, cseq: number) => {
    const plan = planRegistration(r, DEFAULT_REGISTRAR_POLICY, (u) => me.isLocalDomain(u));
    if (!plan.ok) throw new Error('rejected');
    owner.apply(plan, { callId: 'c1', cseq, source: '10.0.0.1:5062' });
  };
  apply(register('<sip:101@10.0.0.1:5062>', 60, 'c1', 1), 1);
  apply(register('<sip:101@10.0.0.1:5063>', 120, 'c1', 2), 2);
  for (const e of ownerEvents) copy.replicate(e);
  t.deepEqual(copy.lookup('101').bindings.map((b) => b.contact), owner.lookup('101').bindings.map((b) => b.contact));
  t.is(copy.bindingCount, 2);
  apply(register('<sip:101@10.0.0.1:5062>', 0, 'c1', 3), 3);
  copy.replicate(ownerEvents.at(-1)!);
  t.deepEqual(copy.lookup('101').bindings.map((b) => b.contact), ['sip:101@10.0.0.1:5063']);
  t.is(copy.bindingCount, 1);
  t.deepEqual(copyEvents, [], 'a replicated change is not an event of the copy');
  t.deepEqual(copy.snapshot().map((a) => [a.user, a.aor, a.bindings.length]), [['101', 'sip:101@10.0.0.9', 1]]);
  t.true(copy.lookup('101').known);
  owner.close();
  copy.close();
});

test('facts are sent together a few milliseconds later, in order, and at once on flush', async (t) => {
  const sent: FromWorker[] = [];
  const batch = new FactBatch((m, done) => {
    sent.push(m);
    done?.();
  }, 20);
  const fact = (n: number): FromWorker => ({ t: 'released', source: `10.0.0.${n}`, until: n });
  batch.add(fact(1) as never);
  batch.add(fact(2) as never);
  t.deepEqual(sent, []);
  await new Promise((r) => setTimeout(r, 60));
  t.deepEqual(sent, [{ t: 'batch', items: [fact(1), fact(2)] }] as never);
  batch.add(fact(3) as never);
  let flushed = false;
  batch.flush(() => (flushed = true));
  t.true(flushed);
  t.deepEqual(sent.at(-1), { t: 'batch', items: [fact(3)] } as never);
  batch.flush();
  t.is(sent.length, 2, 'nothing pending: nothing sent');
});

test('the workers\' shares of --max-calls add up to it, none more than one apart; fewer calls than workers is refused', (t) => {
  t.deepEqual([0, 1].map((i) => callShare(4, 2, i)), [2, 2]);
  t.deepEqual([0, 1, 2].map((i) => callShare(1000, 3, i)), [334, 333, 333]);
  t.deepEqual([0, 1, 2, 3].map((i) => callShare(5, 4, i)), [2, 1, 1, 1]);
  t.is(callShare(100_000, 1, 0), 100_000, 'one process: the whole limit');
  fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 1_000_000 }), (workers, extra) => {
    const maxCalls = workers + extra;
    const shares = Array.from({ length: workers }, (_, i) => callShare(maxCalls, workers, i));
    return shares.reduce((a, b) => a + b, 0) === maxCalls && Math.max(...shares) - Math.min(...shares) <= 1 && Math.min(...shares) >= 1;
  }));
  t.is((parseProxyArgs(['--workers', '4', '--max-calls', '4']) as ProxySettings).maxCalls, 4);
  t.throws(() => parseProxyArgs(['--workers', '4', '--max-calls', '3']), { message: /--max-calls 3 is fewer than --workers 4/ });
});

test('a copy of the location service follows an instance\'s binding replaced from a new Contact URI', (t) => {
  const clock = () => 1_000_000;
  const ownerEvents: BindingEvent[] = [];
  const owner = new LocationService((e) => ownerEvents.push(e), clock);
  const copy = new LocationService(() => {}, clock);
  const instance = ';+sip.instance="<urn:uuid:44796a60-5f5b-4b2a-9a4e-0a1b2c3d4e5f>";reg-id=1';
  for (const [port, cseq] of [[5747, 1], [5749, 2]] as const) {
    const plan = planRegistration(register(`<sip:101@10.0.0.1:${port}>${instance}`, 60, 'c1', cseq), DEFAULT_REGISTRAR_POLICY, (u) => me.isLocalDomain(u));
    if (!plan.ok) throw new Error('rejected');
    owner.apply(plan, { callId: 'c1', cseq, source: `10.0.0.1:${port}` });
  }
  // As the bus carries them: JSON.
  for (const e of ownerEvents) copy.replicate(JSON.parse(JSON.stringify(e)) as BindingEvent);
  t.deepEqual(copy.lookup('101').bindings.map((b) => b.contact), ['sip:101@10.0.0.1:5749']);
  t.is(copy.bindingCount, 1);
  owner.close();
  copy.close();
});
