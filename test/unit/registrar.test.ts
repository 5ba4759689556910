import test from 'ava';
import { heapGrowthOf } from '../helpers/heapGrowth.js';
import { planRegistration, DEFAULT_REGISTRAR_POLICY, deltaSeconds, MAX_AOR_LENGTH, bindingContact } from '../../src/proxy/registrar.js';
import { LocationService, MAX_BINDINGS_PER_AOR, MAX_IDLE_AORS, type BindingEvent } from '../../src/actors/locationService.js';
import { BindingSet } from '../../src/actors/bindingSet.js';
import { LocalIdentity } from '../../src/proxy/localIdentity.js';
import type { SipRequest } from '../../src/sip/message.js';
import { msg } from '../helpers/messages.js';

const me = new LocalIdentity({ host: '10.0.0.9', port: 5060 });
const local = (u: Parameters<LocalIdentity['isLocalDomain']>[0]) => me.isLocalDomain(u);

function register(contacts: string[], expires?: number, user = '101', callId = 'reg-1', cseq = 1): SipRequest {
  return msg(`REGISTER sip:10.0.0.9 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK${cseq}
From: <sip:${user}@10.0.0.9>;tag=1
To: <sip:${user}@10.0.0.9>
Call-ID: ${callId}
CSeq: ${cseq} REGISTER
${contacts.map((c) => `Contact: ${c}\n`).join('')}${expires !== undefined ? `Expires: ${expires}\n` : ''}
`) as SipRequest;
}

function plan(r: SipRequest) {
  const p = planRegistration(r, DEFAULT_REGISTRAR_POLICY, local);
  if (!p.ok) throw new Error(`rejected ${p.status}`);
  return p;
}

test('expiry: Contact parameter beats the Expires header, which beats the default', (t) => {
  const p = plan(register(['<sip:101@10.0.0.1:5062>;expires=120', '<sip:101@10.0.0.1:5063>'], 300));
  t.deepEqual(p.updates.map((u) => u.expires), [120, 300]);
  t.deepEqual(plan(register(['<sip:101@10.0.0.1>'])).updates[0]!.expires, 3600);
});

test('too brief an interval is 423 with Min-Expires (§10.3 step 6)', (t) => {
  const p = planRegistration(register(['<sip:101@10.0.0.1>'], 10), DEFAULT_REGISTRAR_POLICY, local);
  t.false(p.ok);
  if (!p.ok) {
    t.is(p.status, 423);
    t.deepEqual(p.headers, [['Min-Expires', '60']]);
  }
});

test('Contact: * is only accepted alone with Expires: 0', (t) => {
  t.true(plan(register(['*'], 0)).removeAll);
  t.false(planRegistration(register(['*'], 60), DEFAULT_REGISTRAR_POLICY, local).ok);
  t.false(planRegistration(register(['*', '<sip:a@b>'], 0), DEFAULT_REGISTRAR_POLICY, local).ok);
});

test('an AOR outside our domain is 404', (t) => {
  const r = register(['<sip:101@10.0.0.1>']);
  const foreign = { ...r, headers: r.headers.map((h) => (h.key === 'to' ? { ...h, value: '<sip:101@elsewhere.org>' } : h)) };
  const p = planRegistration(foreign, DEFAULT_REGISTRAR_POLICY, local);
  t.false(p.ok);
});

test('location: add, refresh, q order, CSeq ordering, removal, and 404 vs 480', (t) => {
  let now = 1_000_000;
  const events: BindingEvent[] = [];
  const loc = new LocationService((e) => events.push(e), () => now);
  const id = (cseq: number, callId = 'reg-1') => ({ callId, cseq, source: '10.0.0.1:5062' });
  t.true(loc.apply(plan(register(['<sip:101@10.0.0.1:5062>;q=0.5'])), id(1)).ok);
  t.true(loc.apply(plan(register(['<sip:101@10.0.0.2:5062>;q=0.9'], undefined, '101', 'reg-2')), id(1, 'reg-2')).ok);
  t.deepEqual(loc.lookup('101').bindings.map((b) => b.contact), ['sip:101@10.0.0.2:5062', 'sip:101@10.0.0.1:5062']);
  const stale = loc.apply(plan(register(['<sip:101@10.0.0.1:5062>'])), id(1));
  t.false(stale.ok, 'same Call-ID, CSeq not higher: the request fails (§10.3 step 7)');
  t.true(loc.apply(plan(register(['<sip:101@10.0.0.1:5062>'])), id(2)).ok);
  t.true(loc.apply(plan(register(['*'], 0)), id(3)).ok);
  t.deepEqual(loc.lookup('101'), { known: true, bindings: [] });
  t.deepEqual(loc.lookup('999'), { known: false, bindings: [] });
  t.deepEqual(events.map((e) => e.name), ['binding.added', 'binding.added', 'binding.refreshed', 'binding.removed', 'binding.removed']);
  t.is(loc.bindingCount, 0);
  now += 1;
  loc.close();
});

test('location: a binding expires at its deadline', async (t) => {
  const events: string[] = [];
  const loc = new LocationService((e) => events.push(e.name));
  const p = plan(register(['<sip:101@10.0.0.1:5062>'], 60));
  // Shorten the expiry for the test through the plan itself.
  loc.apply({ ...p, updates: p.updates.map((u) => ({ ...u, expires: 0.05 })) }, { callId: 'x', cseq: 1, source: 's' });
  t.is(loc.lookup('101').bindings.length, 1);
  await new Promise((r) => setTimeout(r, 120));
  t.deepEqual(events, ['binding.added', 'binding.expired']);
  t.is(loc.bindingCount, 0);
  loc.close();
});

test('a binding does not keep the text of the REGISTER it came from', (t) => {
  const loc = new LocationService();
  const grew = heapGrowthOf(() => {
    for (let i = 0; i < 64; i++) {
      // A megabyte of REGISTER text; the binding's contact, key, Call-ID and AOR are cut from it.
      const text = `Contact: <sip:user${i}@192.168.1.${i}:5060>\r\nCall-ID: callid-${i}-0123456789@192.168.1.${i}\r\nX-Pad: ${'x'.repeat(1 << 20)}`;
      const contact = text.slice(10, text.indexOf('>'));
      const callId = text.slice(text.indexOf('Call-ID: ') + 9, text.indexOf('\r\nX-Pad'));
      const user = text.slice(14, 14 + `user${i}`.length);
      const plan = { ok: true as const, user, aor: `sip:${user}@192.168.1.${i}`, removeAll: false, updates: [{ key: contact, contact, q: 1, expires: 3600 }] };
      t.true(loc.apply(plan, { callId, cseq: 1, source: `192.168.1.${i}:5060` }).ok);
    }
  });
  t.is(loc.bindingCount, 64);
  t.is(loc.lookup('user5').bindings[0]?.contact, 'sip:user5@192.168.1.5:5060');
  t.true(grew < 16 << 20, `the heap grew by ${(grew / 2 ** 20).toFixed(1)} MiB for 64 bindings`);
  loc.close();
});

test('an AOR\'s bindings keep their order: a refresh replaces in place, a removal closes the gap', (t) => {
  const set = new BindingSet();
  const b = (key: string, q = 1) => ({ contact: key, key, q, expiresAt: 0, callId: 'c', cseq: 1, source: 's' });
  set.set(b('sip:a@h'));
  set.set(b('sip:b@h'));
  set.set(b('sip:c@h'));
  set.set(b('sip:b@h', 0.5));
  t.deepEqual(set.keys(), ['sip:a@h', 'sip:b@h', 'sip:c@h']);
  t.is(set.get('sip:b@h')?.q, 0.5);
  const walked = set.values();
  t.true(set.delete('sip:a@h'));
  t.false(set.delete('sip:a@h'));
  t.is(walked.length, 3, 'values() is a copy');
  t.deepEqual(set.keys(), ['sip:b@h', 'sip:c@h']);
  t.is(set.size, 2);
  t.false(set.has('sip:a@h'));
});

test('Expires and expires=: delta-seconds; a malformed value counts as 3600, a huge one as 2^32-1, then the policy caps it (§20.19, §20.10)', (t) => {
  t.is(deltaSeconds('60'), 60);
  t.is(deltaSeconds(' 0060 '), 60);
  t.is(deltaSeconds('0'), 0);
  for (const bad of ['', 'abc', '0x70', '1e3', '60.5', '-5', '+60']) t.is(deltaSeconds(bad), 3600, JSON.stringify(bad));
  t.is(deltaSeconds('99999999999'), 2 ** 32 - 1);
  t.is(deltaSeconds('9999999999'), 2 ** 32 - 1);
  // An empty expires= does not remove the binding; a malformed Expires header is no 400.
  t.deepEqual(plan(register(['<sip:101@10.0.0.1:5062>;expires='])).updates.map((u) => u.expires), [3600]);
  t.deepEqual(plan(register(['<sip:101@10.0.0.1:5062>;expires=0x70'])).updates.map((u) => u.expires), [3600]);
  const headerBad = msg(`REGISTER sip:10.0.0.9 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKx
From: <sip:101@10.0.0.9>;tag=1
To: <sip:101@10.0.0.9>
Call-ID: reg-x
CSeq: 1 REGISTER
Contact: <sip:101@10.0.0.1:5062>
Expires: soon

`) as SipRequest;
  t.deepEqual(plan(headerBad).updates.map((u) => u.expires), [3600]);
  t.deepEqual(plan(register(['<sip:101@10.0.0.1:5062>'], 99999999999)).updates.map((u) => u.expires), [DEFAULT_REGISTRAR_POLICY.maxExpires]);
  // Contact: * still needs an Expires that is 0.
  t.false(planRegistration(register(['*'], undefined), DEFAULT_REGISTRAR_POLICY, local).ok);
  t.true(planRegistration(register(['*'], 0), DEFAULT_REGISTRAR_POLICY, local).ok);
});

test('an address-of-record longer than MAX_AOR_LENGTH is 400; a Contact that is the proxy itself is 403, removing one is fine', (t) => {
  const long = planRegistration(register(['<sip:x@10.0.0.1>'], 60, 'u'.repeat(MAX_AOR_LENGTH)), DEFAULT_REGISTRAR_POLICY, local);
  t.like(long, { ok: false, status: 400 });
  const own = (host: string, port: number) => me.isOwnAddress(host, port);
  t.like(planRegistration(register(['<sip:101@10.0.0.9:5060>'], 600), DEFAULT_REGISTRAR_POLICY, local, own), { ok: false, status: 403 });
  t.like(planRegistration(register(['<sip:101@10.0.0.9>'], 600), DEFAULT_REGISTRAR_POLICY, local, own), { ok: false, status: 403 });
  t.like(planRegistration(register(['<sip:101@10.0.0.1;maddr=10.0.0.9>'], 600), DEFAULT_REGISTRAR_POLICY, local, own), { ok: false, status: 403 });
  t.like(planRegistration(register(['<sip:101@10.0.0.9:5062>'], 600), DEFAULT_REGISTRAR_POLICY, local, own), { ok: true });
  t.like(planRegistration(register(['<sip:101@10.0.0.9:5060>'], 0), DEFAULT_REGISTRAR_POLICY, local, own), { ok: true });
  const wildcard = new LocalIdentity({ host: '0.0.0.0', port: 5070 });
  t.true(wildcard.isOwnAddress('127.0.0.1', 5070));
  t.false(wildcard.isOwnAddress('127.0.0.1', 5071));
});

test('location: removing bindings of a name never bound creates no AOR; idle AORs are bounded; at most MAX_BINDINGS_PER_AOR bindings (503)', (t) => {
  const loc = new LocationService();
  const ident = { callId: 'c', cseq: 1, source: '10.0.0.1:5062' };
  t.deepEqual(loc.apply(plan(register(['*'], 0, 'nobody')), ident), { ok: true, bindings: [] });
  t.false(loc.lookup('nobody').known);
  // 480 stays for a name that had a binding.
  loc.apply(plan(register(['<sip:ann@10.0.0.1>'], 600, 'ann')), ident);
  loc.apply(plan(register(['<sip:ann@10.0.0.1>'], 0, 'ann')), { ...ident, cseq: 2 });
  t.deepEqual(loc.lookup('ann'), { known: true, bindings: [] });
  const many = Array.from({ length: MAX_BINDINGS_PER_AOR + 1 }, (_, i) => `<sip:bob@10.0.0.${i + 1}>`);
  t.like(loc.apply(plan(register(many.slice(0, MAX_BINDINGS_PER_AOR), 600, 'bob')), ident), { ok: true });
  t.like(loc.apply(plan(register(many.slice(MAX_BINDINGS_PER_AOR), 600, 'bob')), { ...ident, callId: 'other' }), { ok: false, status: 503 });
  t.is(loc.lookup('bob').bindings.length, MAX_BINDINGS_PER_AOR);
  // Refreshing one of them is still fine.
  t.like(loc.apply(plan(register(many.slice(0, 1), 600, 'bob')), { ...ident, cseq: 2 }), { ok: true });
});

test('location: past MAX_IDLE_AORS names whose phones are gone, the oldest is forgotten (404), the newer still known (480)', (t) => {
  const loc = new LocationService();
  const ident = { callId: 'c', cseq: 1, source: '10.0.0.1:5062' };
  const planFor = (user: string, expires: number) => ({ ok: true as const, user, aor: `sip:${user}@10.0.0.9`, removeAll: false, updates: [{ key: `k-${user}`, contact: `sip:${user}@10.0.0.1`, q: 1, expires }] });
  for (let i = 0; i <= MAX_IDLE_AORS; i++) {
    loc.apply(planFor(`u${i}`, 600), ident);
    loc.apply(planFor(`u${i}`, 0), { ...ident, cseq: 2 });
  }
  t.false(loc.lookup('u0').known);
  t.true(loc.lookup('u1').known);
  t.true(loc.lookup(`u${MAX_IDLE_AORS}`).known);
  // A name with a live binding is never forgotten, however many come and go after it.
  loc.apply(planFor('keep', 600), ident);
  for (let i = 0; i < 10; i++) {
    loc.apply(planFor(`v${i}`, 600), ident);
    loc.apply(planFor(`v${i}`, 0), { ...ident, cseq: 2 });
  }
  t.is(loc.lookup('keep').bindings.length, 1);
  t.false(loc.lookup('u10').known);
  loc.close();
});

// ---- a UA instance's binding (RFC 5626 §6, RFC 5627 §5.1) ----

const UUID = '44796a60-5f5b-4b2a-9a4e-0a1b2c3d4e5f';
/** baresip's Contact with `;sipnat=outbound` and the uuid module. */
const phone = (port: number, opts: { instance?: string; regId?: number | string; expires?: number } = {}) =>
  `<sip:grace-0x1@127.0.0.1:${port}>;expires=${opts.expires ?? 600}${opts.instance !== undefined ? `;+sip.instance="<${opts.instance}>"` : ''}${opts.regId !== undefined ? `;reg-id=${opts.regId}` : ''}`;

test('planning: a Contact with +sip.instance is keyed by the instance URN (quotes and brackets off, "urn", NID and UUID case-insensitive) and reg-id; without one, by its URI', (t) => {
  const key = (c: string) => plan(register([c])).updates[0]!;
  const a = key(phone(5747, { instance: `urn:uuid:${UUID}`, regId: 1 }));
  const b = key(phone(5749, { instance: `URN:UUID:${UUID.toUpperCase()}`, regId: '01' }));
  t.is(a.instance, `urn:uuid:${UUID}`);
  t.is(a.regId, 1);
  t.is(a.key, b.key, 'one instance and reg-id: one key, whatever the Contact URI');
  t.not(key(phone(5747, { instance: `urn:uuid:${UUID}`, regId: 2 })).key, a.key, 'another reg-id: another flow');
  t.not(key(phone(5747, { instance: `urn:uuid:${UUID}` })).key, a.key);
  // Outside a UUID the NSS is case-sensitive (RFC 8141 §3.1), its %-escapes not.
  t.not(key(phone(5747, { instance: 'urn:dev:mac:AABB' })).key, key(phone(5747, { instance: 'urn:dev:mac:aabb' })).key);
  t.is(key(phone(5747, { instance: 'urn:Dev:x%2fy' })).key, key(phone(5749, { instance: 'urn:dev:x%2Fy' })).key);
  // No instance (or no URN): the Contact URI, as RFC 3261 §10.3; a lone reg-id is ignored.
  const plain = key(phone(5747));
  t.is(plain.instance, undefined);
  t.is(key(phone(5747, { regId: 1 })).key, plain.key);
  t.is(key(phone(5747, { instance: 'not a urn' })).key, plain.key);
  t.not(key(phone(5749)).key, plain.key);
  for (const bad of ['0', 'x', '2147483648', '']) {
    t.like(planRegistration(register([phone(5747, { instance: `urn:uuid:${UUID}`, regId: bad })]), DEFAULT_REGISTRAR_POLICY, local), { ok: false, status: 400 }, `reg-id=${bad}`);
  }
});

test('location: the same instance from a new Contact URI replaces its binding (removed as replaced, then added); Contacts without instance keep one binding per URI', (t) => {
  const events: BindingEvent[] = [];
  const loc = new LocationService((e) => events.push(e));
  const ident = (cseq: number, source = '127.0.0.1:5747') => ({ callId: 'reg-grace', cseq, source });
  const inst = { instance: `urn:uuid:${UUID}`, regId: 1 };
  t.true(loc.apply(plan(register([phone(5747, inst)], undefined, 'grace')), ident(1)).ok);
  const again = loc.apply(plan(register([phone(5749, { ...inst, instance: `urn:uuid:${UUID.toUpperCase()}` })], undefined, 'grace')), ident(2, '127.0.0.1:5749'));
  t.like(again, { ok: true });
  if (again.ok) t.deepEqual(again.bindings.map((b) => b.contact), ['sip:grace-0x1@127.0.0.1:5749'], 'the 200 lists the current binding only');
  t.deepEqual(loc.lookup('grace').bindings.map((b) => b.contact), ['sip:grace-0x1@127.0.0.1:5749'], 'the old contact is no target');
  t.is(loc.bindingCount, 1);
  t.deepEqual(events.map((e) => [e.name, e.contact, e.reason]), [
    ['binding.added', 'sip:grace-0x1@127.0.0.1:5747', undefined],
    ['binding.removed', 'sip:grace-0x1@127.0.0.1:5747', 'replaced'],
    ['binding.added', 'sip:grace-0x1@127.0.0.1:5749', undefined],
  ]);
  t.like(events[2], { instance: `urn:uuid:${UUID}`, regId: 1 });
  // The same URI again is a refresh, as for any binding.
  loc.apply(plan(register([phone(5749, inst)], undefined, 'grace')), ident(3));
  t.is(events.at(-1)!.name, 'binding.refreshed');
  // Without +sip.instance nothing changed: a new URI is a second binding (RFC 3261 §10.3).
  loc.apply(plan(register([phone(6000)], undefined, 'henry')), ident(1));
  loc.apply(plan(register([phone(6002)], undefined, 'henry')), ident(2));
  t.is(loc.lookup('henry').bindings.length, 2);
  loc.close();
});

test('location: one instance with two reg-ids has two bindings, even at one Contact URI (RFC 5626 §3.3); each is replaced on its own', (t) => {
  const loc = new LocationService();
  const i = `urn:uuid:${UUID}`;
  loc.apply(plan(register([phone(5747, { instance: i, regId: 1 })], undefined, 'grace')), { callId: 'flow-1', cseq: 1, source: 's' });
  loc.apply(plan(register([phone(5747, { instance: i, regId: 2 })], undefined, 'grace')), { callId: 'flow-2', cseq: 1, source: 's' });
  t.is(loc.lookup('grace').bindings.length, 2);
  loc.apply(plan(register([phone(5750, { instance: i, regId: 2 })], undefined, 'grace')), { callId: 'flow-2', cseq: 2, source: 's' });
  t.deepEqual(loc.lookup('grace').bindings.map((b) => [b.contact, b.regId]).sort(), [['sip:grace-0x1@127.0.0.1:5747', 1], ['sip:grace-0x1@127.0.0.1:5750', 2]]);
  loc.close();
});

test('location: expires=0 with an instance removes that instance\'s binding even from another Contact URI; another reg-id stays', (t) => {
  const loc = new LocationService();
  const i = `urn:uuid:${UUID}`;
  loc.apply(plan(register([phone(5747, { instance: i, regId: 1 })], undefined, 'grace')), { callId: 'c', cseq: 1, source: 's' });
  loc.apply(plan(register([phone(5747, { instance: i, regId: 2 })], undefined, 'grace')), { callId: 'c', cseq: 2, source: 's' });
  const r = loc.apply(plan(register([phone(5749, { instance: i, regId: 1, expires: 0 })], undefined, 'grace')), { callId: 'c', cseq: 3, source: 's' });
  t.like(r, { ok: true });
  t.deepEqual(loc.lookup('grace').bindings.map((b) => b.regId), [2]);
  t.is(loc.bindingCount, 1);
  // §10.3 step 7 looks at the binding the instance names: a stale CSeq is refused.
  t.like(loc.apply(plan(register([phone(5800, { instance: i, regId: 2 })], undefined, 'grace')), { callId: 'c', cseq: 2, source: 's' }), { ok: false, status: 400 });
  loc.close();
});

test('location: an instance re-registering from a new port each time is never refused (503): past MAX_BINDINGS_PER_AOR REGISTERs it still has one binding', (t) => {
  const loc = new LocationService();
  for (let n = 1; n <= MAX_BINDINGS_PER_AOR + 8; n++) {
    const r = loc.apply(plan(register([phone(5700 + n, { instance: `urn:uuid:${UUID}`, regId: 1 })], undefined, 'grace')), { callId: `c${n}`, cseq: 1, source: `127.0.0.1:${5700 + n}` });
    t.like(r, { ok: true }, `REGISTER ${n}`);
  }
  t.deepEqual(loc.lookup('grace').bindings.map((b) => b.contact), [`sip:grace-0x1@127.0.0.1:${5700 + MAX_BINDINGS_PER_AOR + 8}`]);
  t.is(loc.bindingCount, 1);
  loc.close();
});

test('location: a binding made without +sip.instance (or journaled before instances were read) is taken over by its instance at the same Contact URI, and back', (t) => {
  const events: BindingEvent[] = [];
  const loc = new LocationService((e) => events.push(e));
  const i = `urn:uuid:${UUID}`;
  loc.apply(plan(register([phone(5747)], undefined, 'grace')), { callId: 'c', cseq: 1, source: 's' });
  loc.apply(plan(register([phone(5747, { instance: i, regId: 1 })], undefined, 'grace')), { callId: 'c', cseq: 2, source: 's' });
  t.deepEqual(loc.lookup('grace').bindings.map((b) => [b.contact, b.instance]), [['sip:grace-0x1@127.0.0.1:5747', i]]);
  loc.apply(plan(register([phone(5747)], undefined, 'grace')), { callId: 'c', cseq: 3, source: 's' });
  t.deepEqual(loc.lookup('grace').bindings.map((b) => [b.contact, b.instance]), [['sip:grace-0x1@127.0.0.1:5747', undefined]]);
  t.is(loc.bindingCount, 1);
  t.deepEqual(events.map((e) => [e.name, e.reason]), [['binding.added', undefined], ['binding.removed', 'replaced'], ['binding.added', undefined], ['binding.removed', 'replaced'], ['binding.added', undefined]]);
  loc.close();
});

test('the 200 lists an instance\'s binding with its +sip.instance and reg-id', (t) => {
  const loc = new LocationService();
  const r = loc.apply(plan(register([phone(5747, { instance: `urn:uuid:${UUID}`, regId: 1, expires: 300 })], undefined, 'grace')), { callId: 'c', cseq: 1, source: 's' });
  t.true(r.ok);
  if (r.ok) t.is(bindingContact(r.bindings[0]!, Date.now()), `<sip:grace-0x1@127.0.0.1:5747>;expires=300;+sip.instance="<urn:uuid:${UUID}>";reg-id=1`);
  loc.close();
});

test('location: a REGISTER with more Contacts than twice what an AOR may hold is refused before they are matched (503)', (t) => {
  const loc = new LocationService();
  const many = Array.from({ length: 65 }, (_, i) => `<sip:u${i}@10.0.0.${(i % 200) + 1}:5060>;expires=0`);
  t.like(loc.apply(plan(register(many, undefined, 'crowd')), { callId: 'c', cseq: 1, source: 's' }), { ok: false, status: 503 });
  const fine = Array.from({ length: 64 }, (_, i) => `<sip:u${i}@10.0.0.${(i % 200) + 1}:5060>;expires=0`);
  t.like(loc.apply(plan(register(fine, undefined, 'crowd')), { callId: 'c', cseq: 2, source: 's' }), { ok: true });
  loc.close();
});
