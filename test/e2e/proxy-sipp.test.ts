// End-to-end: the real proxy process driven by SIPp scenarios (test/sipp) over UDP on loopback.
// One proxy per test, so tests run concurrently. Callees register through the proxy and share
// the caller's Call-ID (see test/sipp/callee-*.xml).
import test from 'ava';
import { headers, sipMessages } from '../helpers/sipp.js';
import { assertIdle, assertOk, callee, caller, newCallId, proxyFor, received, sent, waitForBindings } from '../helpers/flows.js';

test('register, then unregister with Expires: 0', async (t) => {
  const proxy = await proxyFor(t);
  const r = await caller(proxy, { scenario: 'register.xml', service: 'alice' });
  assertOk(t, r, proxy);
  t.is((await proxy.status()).bindings, 0, 'binding left after Expires: 0');
  await assertIdle(t, proxy);
});

test('call through lookup: Record-Route from the proxy, ACK/BYE routed through it', async (t) => {
  const proxy = await proxyFor(t);
  const callId = newCallId('call');
  const bob = await callee(t, proxy, { scenario: 'callee-answer.xml', service: 'bob', callId });
  await waitForBindings(proxy, 1, [bob]);
  const a = await caller(proxy, { scenario: 'caller-call.xml', service: 'bob', callId });
  const b = await bob.done;
  assertOk(t, a, proxy);
  assertOk(t, b, proxy);
  // <sip:[user@]host:port[;params];lr[;params]> naming the proxy
  const us = new RegExp(`<sip:(?:[^@>]*@)?${proxy.host.replace(/\./g, '\\.')}:${proxy.port}(?:;[^>]*)?;lr[;>]`);
  const ok200 = sipMessages(a.messages).find((m) => m.dir === 'received' && / 200 /.test(m.first) && /INVITE/.test(headers(m, 'CSeq')[0] ?? ''));
  t.regex(ok200 ? headers(ok200, 'Record-Route').join(', ') : '(no 200)', us, 'the 200 lacks the proxy\'s Record-Route');
  t.regex(sent(a, 'BYE')[0] ? headers(sent(a, 'BYE')[0]!, 'Route').join(', ') : '(no BYE)', us, 'the BYE has no Route to the proxy');
  const bye = received(b, 'BYE')[0];
  t.truthy(bye, 'callee got no BYE');
  t.true((bye ? headers(bye, 'Via')[0] ?? '' : '').includes(`${proxy.host}:${proxy.port}`), `BYE did not come through the proxy:\n${bye?.text}`);
  await assertIdle(t, proxy);
});

test('declined: 603 reaches the caller', async (t) => {
  const proxy = await proxyFor(t);
  const callId = newCallId('decline');
  const bob = await callee(t, proxy, { scenario: 'callee-decline.xml', service: 'bob', callId });
  await waitForBindings(proxy, 1, [bob]);
  assertOk(t, await caller(proxy, { scenario: 'caller-decline.xml', service: 'bob', callId }), proxy);
  assertOk(t, await bob.done, proxy);
  await assertIdle(t, proxy);
});

test('cancelled: caller CANCELs after 180, callee gets CANCEL and answers 487', async (t) => {
  const proxy = await proxyFor(t);
  const callId = newCallId('cancel');
  const bob = await callee(t, proxy, { scenario: 'callee-ring.xml', service: 'bob', callId });
  await waitForBindings(proxy, 1, [bob]);
  assertOk(t, await caller(proxy, { scenario: 'caller-cancel.xml', service: 'bob', callId }), proxy);
  assertOk(t, await bob.done, proxy);
  await assertIdle(t, proxy);
});

test('a CANCEL for an INVITE the proxy never saw is forwarded statelessly, its retransmission on the same branch, and the 200 comes back (RFC 3261 §16.10, §16.11)', async (t) => {
  const proxy = await proxyFor(t);
  const callId = newCallId('lone-cancel');
  // -nr on both: the caller's copy is the retransmission, and the callee must see it.
  const bob = await callee(t, proxy, { scenario: 'callee-lone-cancel.xml', service: 'bob', callId, args: ['-nr'] });
  await waitForBindings(proxy, 1, [bob]);
  const a = await caller(proxy, { scenario: 'caller-lone-cancel.xml', service: 'bob', callId, args: ['-nr'] });
  const b = await bob.done;
  assertOk(t, a, proxy);
  assertOk(t, b, proxy);
  const cancels = received(b, 'CANCEL');
  t.is(cancels.length, 2, `callee saw the CANCEL ${cancels.length} times`);
  const tops = cancels.map((m) => headers(m, 'Via')[0] ?? '');
  t.true(tops[0]!.includes(`${proxy.host}:${proxy.port};branch=z9hG4bK`), `the CANCEL did not come through the proxy:\n${cancels[0]?.text}`);
  t.is(tops[1], tops[0], 'the retransmission has the same top Via (branch)');
  await assertIdle(t, proxy);
});

test('busy: 486 reaches the caller', async (t) => {
  const proxy = await proxyFor(t);
  const callId = newCallId('busy');
  const bob = await callee(t, proxy, { scenario: 'callee-busy.xml', service: 'bob', callId });
  await waitForBindings(proxy, 1, [bob]);
  assertOk(t, await caller(proxy, { scenario: 'caller-busy.xml', service: 'bob', callId }), proxy);
  assertOk(t, await bob.done, proxy);
  await assertIdle(t, proxy);
});

test('unknown user: 404', async (t) => {
  const proxy = await proxyFor(t);
  assertOk(t, await caller(proxy, { scenario: 'caller-unknown.xml', service: 'nobody', callId: newCallId('unknown') }), proxy);
  await assertIdle(t, proxy);
});

test('Max-Forwards: 0 gets 483 and is not forwarded', async (t) => {
  const proxy = await proxyFor(t);
  const callId = newCallId('maxfwd');
  const bob = await callee(t, proxy, { scenario: 'callee-answer.xml', service: 'bob', callId });
  await waitForBindings(proxy, 1, [bob]);
  assertOk(t, await caller(proxy, { scenario: 'caller-maxfwd0.xml', service: 'bob', callId }), proxy);
  const b = await bob.stop(); // it waits for an INVITE that must never come
  t.is(received(b, 'INVITE').length, 0, `the INVITE was forwarded:\n${b.report()}`);
  await assertIdle(t, proxy);
});

test('retransmitted INVITE reaches the callee once', async (t) => {
  const proxy = await proxyFor(t);
  const callId = newCallId('retrans');
  // -nr on both: SIPp's own retransmission handling would hide or multiply the duplicate.
  const bob = await callee(t, proxy, { scenario: 'callee-once.xml', service: 'bob', callId, args: ['-nr'] });
  await waitForBindings(proxy, 1, [bob]);
  const a = await caller(proxy, { scenario: 'caller-retrans.xml', service: 'bob', callId, args: ['-nr'] });
  const b = await bob.done;
  assertOk(t, a, proxy);
  assertOk(t, b, proxy);
  t.is(sent(a, 'INVITE').length, 2, 'caller should have sent the INVITE twice');
  t.is(received(b, 'INVITE').length, 1, `callee saw the INVITE ${received(b, 'INVITE').length} times`);
  await assertIdle(t, proxy);
});

test('never-answering callee: caller gets a final response when timer C fires', async (t) => {
  const proxy = await proxyFor(t, ['--timer-c', '3000']);
  const callId = newCallId('timeout');
  const bob = await callee(t, proxy, { scenario: 'callee-ring.xml', service: 'bob', callId });
  await waitForBindings(proxy, 1, [bob]);
  assertOk(t, await caller(proxy, { scenario: 'caller-timeout.xml', service: 'bob', callId }), proxy);
  assertOk(t, await bob.done, proxy); // it got the proxy's CANCEL, answered 200 + 487, got the ACK
  await assertIdle(t, proxy);
});

test('forking: second contact answers, first gets CANCEL', async (t) => {
  const proxy = await proxyFor(t);
  const callId = newCallId('fork');
  const ringer = await callee(t, proxy, { scenario: 'callee-ring.xml', service: 'bob', callId, label: 'ringer' });
  await waitForBindings(proxy, 1, [ringer]);
  const answerer = await callee(t, proxy, { scenario: 'callee-answer.xml', service: 'bob', callId, label: 'answerer' });
  await waitForBindings(proxy, 2, [ringer, answerer]);
  const a = await caller(proxy, { scenario: 'caller-call.xml', service: 'bob', callId });
  const [r1, r2] = await Promise.all([ringer.done, answerer.done]);
  assertOk(t, a, proxy);
  assertOk(t, r1, proxy);
  assertOk(t, r2, proxy);
  t.is(received(r1, 'CANCEL').length, 1, 'ringer got no CANCEL');
  t.is(received(r2, 'BYE').length, 1, 'answerer got no BYE');
  await assertIdle(t, proxy);
});
