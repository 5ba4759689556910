import test from 'ava';
import { heapGrowthOf } from '../helpers/heapGrowth.js';
import { planRegistration, DEFAULT_REGISTRAR_POLICY } from '../../src/proxy/registrar.js';
import { LocationService, type BindingEvent } from '../../src/actors/locationService.js';
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
