import test from 'ava';
import { callMachine } from '../../src/machines/call.js';
import { relayMachine } from '../../src/machines/relay.js';
import { invite, response } from '../helpers/messages.js';
import { run } from '../helpers/simulated.js';
import { getHeaderValues } from '../../src/sip/message.js';

const base = { request: invite(), callId: 'call-1', fromTag: 'a1', from: 'sip:alice@proxy', to: 'sip:bob@proxy', toTag: 'px', maxDurationMs: 60_000, lifecycle: true, now: () => 1000 };
const lifecycle = (m: ReturnType<typeof run>) => m.of('lifecycle').map((e) => e.event.event.name);
const sent = (m: ReturnType<typeof run>) => m.of('respond').map((e) => e.event.response.status);

test('a 100 is absorbed, 180 forwarded without our Via and logged once as ringing', (t) => {
  const m = run(callMachine, { ...base, branches: ['b1', 'b2'] });
  m.actor.send({ type: 'branch.response', branch: 'b1', response: response(100, 'Trying') });
  m.actor.send({ type: 'branch.response', branch: 'b1', response: response(180, 'Ringing') });
  m.actor.send({ type: 'branch.response', branch: 'b2', response: response(180, 'Ringing', 'INVITE', 'z9hG4bKtest1', 'b2') });
  t.deepEqual(sent(m), [180, 180]);
  t.is(getHeaderValues(m.of('respond')[0]!.event.response, 'via').length, 1, 'our Via is removed');
  t.deepEqual(lifecycle(m), ['call.ringing']);
});

test('the first 2xx is forwarded at once and cancels the other branches; BYE ends the call', (t) => {
  const m = run(callMachine, { ...base, branches: ['b1', 'b2'] });
  m.actor.send({ type: 'branch.response', branch: 'b2', response: response(200, 'OK') });
  t.deepEqual(sent(m), [200]);
  t.deepEqual(m.of('cancelBranches').map((e) => e.event.branches), [['b1']]);
  t.is(m.of('dialog').length, 1);
  m.actor.send({ type: 'branch.response', branch: 'b1', response: response(487, 'Request Terminated') });
  t.deepEqual(sent(m), [200], 'the cancelled branch\'s 487 is not forwarded');
  m.actor.send({ type: 'bye' });
  t.deepEqual(lifecycle(m), ['call.answered', 'call.ended']);
  t.is(m.status(), 'done');
});

test('best response: a 6xx wins over 4xx and cancels the pending branches (§16.7 step 5-6)', (t) => {
  const m = run(callMachine, { ...base, branches: ['b1', 'b2', 'b3'] });
  m.actor.send({ type: 'branch.response', branch: 'b1', response: response(404, 'Not Found') });
  m.actor.send({ type: 'branch.response', branch: 'b2', response: response(603, 'Decline') });
  t.deepEqual(m.of('cancelBranches').map((e) => e.event.branches), [['b3']]);
  t.deepEqual(sent(m), []);
  m.actor.send({ type: 'branch.response', branch: 'b3', response: response(487, 'Request Terminated') });
  t.deepEqual(sent(m), [603]);
  t.deepEqual(lifecycle(m), ['call.declined']);
  t.is(m.status(), 'done');
});

test('a timed-out branch counts as 408 and the lowest class wins', (t) => {
  const m = run(callMachine, { ...base, branches: ['b1', 'b2'] });
  m.actor.send({ type: 'branch.timeout', branch: 'b1' });
  m.actor.send({ type: 'branch.response', branch: 'b2', response: response(486, 'Busy Here') });
  t.deepEqual(sent(m), [486]);
  t.deepEqual(lifecycle(m), ['call.busy']);
});

test('CANCEL from the caller cancels pending branches and the 487 logs as cancelled', (t) => {
  const m = run(callMachine, { ...base, branches: ['b1'] });
  m.actor.send({ type: 'branch.response', branch: 'b1', response: response(180, 'Ringing') });
  m.actor.send({ type: 'cancel' });
  t.deepEqual(m.of('cancelBranches').map((e) => e.event.branches), [['b1']]);
  m.actor.send({ type: 'branch.response', branch: 'b1', response: response(487, 'Request Terminated') });
  t.deepEqual(sent(m), [180, 487]);
  t.deepEqual(lifecycle(m), ['call.ringing', 'call.cancelled']);
});

test('a caller who cancelled is logged as cancelled whatever the best response: a fork\'s 486 (§16.7 step 6), a 408 of a branch that never rang (§9.1)', (t) => {
  const forked = run(callMachine, { ...base, branches: ['b1', 'b2'] });
  forked.actor.send({ type: 'branch.response', branch: 'b2', response: response(180, 'Ringing', 'INVITE', 'z9hG4bKtest1', 'b2') });
  forked.actor.send({ type: 'branch.response', branch: 'b1', response: response(486, 'Busy Here') });
  forked.actor.send({ type: 'cancel' });
  forked.actor.send({ type: 'branch.response', branch: 'b2', response: response(487, 'Request Terminated', 'INVITE', 'z9hG4bKtest1', 'b2') });
  t.deepEqual(sent(forked), [180, 486]);
  t.deepEqual(lifecycle(forked), ['call.ringing', 'call.cancelled']);

  const silent = run(callMachine, { ...base, branches: ['b1'] });
  silent.actor.send({ type: 'cancel' });
  silent.actor.send({ type: 'branch.timeout', branch: 'b1' });
  t.deepEqual(sent(silent), [408]);
  t.deepEqual(lifecycle(silent), ['call.cancelled']);
  t.is(silent.of('lifecycle')[0]!.event.event.status, 408);
});

test('a 2xx that crosses the caller\'s CANCEL still answers the call', (t) => {
  const m = run(callMachine, { ...base, branches: ['b1'] });
  m.actor.send({ type: 'branch.response', branch: 'b1', response: response(180, 'Ringing') });
  m.actor.send({ type: 'cancel' });
  m.actor.send({ type: 'branch.response', branch: 'b1', response: response(200, 'OK') });
  t.deepEqual(lifecycle(m), ['call.ringing', 'call.answered']);
});

test('no branch: the local final response (404/480) is sent and logged as failed', (t) => {
  const m = run(callMachine, { ...base, branches: [], localFinal: { status: 480 } });
  t.deepEqual(sent(m), [480]);
  t.deepEqual(lifecycle(m), ['call.failed']);
  t.is(m.status(), 'done');
});

test('a re-INVITE relays without lifecycle events and ends after its 2xx', (t) => {
  const m = run(callMachine, { ...base, lifecycle: false, branches: ['b1'] });
  m.actor.send({ type: 'branch.response', branch: 'b1', response: response(200, 'OK') });
  t.deepEqual(sent(m), [200]);
  t.deepEqual(lifecycle(m), []);
  t.is(m.of('dialog').length, 0, 'the dialog stays with the call that made it');
  t.is(m.status(), 'done');
});

test('a confirmed call without BYE ends at its maximum duration', (t) => {
  const m = run(callMachine, { ...base, maxDurationMs: 5000, branches: ['b1'] });
  m.actor.send({ type: 'branch.response', branch: 'b1', response: response(200, 'OK') });
  m.advance(5000);
  t.deepEqual(lifecycle(m), ['call.answered', 'call.ended']);
  t.is(m.of('lifecycle')[1]!.event.event.reason, 'max-duration');
  t.is(m.status(), 'done');
});

test('relay: first 2xx ends it; otherwise the best final response after all branches', (t) => {
  const a = run(relayMachine, { branches: ['b1', 'b2'] });
  a.actor.send({ type: 'branch.response', branch: 'b1', response: response(200, 'OK', 'MESSAGE') });
  t.deepEqual(a.of('respond').map((e) => e.event.response.status), [200]);
  t.is(a.status(), 'done');
  const b = run(relayMachine, { branches: ['b1', 'b2'] });
  b.actor.send({ type: 'branch.response', branch: 'b1', response: response(404, 'Not Found', 'MESSAGE') });
  b.actor.send({ type: 'branch.response', branch: 'b2', response: response(486, 'Busy Here', 'MESSAGE') });
  t.deepEqual(b.of('respond').map((e) => e.event.response.status), [404]);
  t.is(b.status(), 'done');
});

// RFC 4320 §4.2: no 408 to a non-INVITE request, so a timed-out branch is no answer at all.
test('relay: a timed-out branch contributes nothing; the best answer received goes up (RFC 4320 §4.2)', (t) => {
  for (const [status, reason, up] of [[404, 'Not Found', 404], [503, 'Service Unavailable', 500]] as const) {
    for (const timeoutFirst of [false, true]) {
      const b = run(relayMachine, { branches: ['b1', 'b2'] });
      const answer = () => b.actor.send({ type: 'branch.response', branch: 'b1', response: response(status, reason, 'MESSAGE') });
      if (!timeoutFirst) answer();
      b.actor.send({ type: 'branch.timeout', branch: 'b2' });
      if (timeoutFirst) answer();
      t.deepEqual(b.of('respond').map((e) => e.event.response.status), [up], `${status}, timeout ${timeoutFirst ? 'first' : 'last'}: not 408`);
      t.deepEqual(b.of('expire'), []);
      t.is(b.status(), 'done');
    }
  }
});

test('relay: when every branch times out nothing is sent, and the server transaction is told to expire (RFC 4320 §4.2)', (t) => {
  const b = run(relayMachine, { branches: ['b1', 'b2'] });
  b.actor.send({ type: 'branch.response', branch: 'b1', response: response(180, 'Ringing', 'MESSAGE') });
  b.actor.send({ type: 'branch.timeout', branch: 'b1' });
  t.is(b.status(), 'active', 'b2 is still pending');
  b.actor.send({ type: 'branch.timeout', branch: 'b2' });
  t.deepEqual(b.of('respond').map((e) => e.event.response.status), [180], 'only the provisional, no final response');
  t.is(b.of('expire').length, 1);
  t.is(b.status(), 'done');
});

test('relay: a lone 503 goes upstream as 500 (§16.7 step 6)', (t) => {
  const b = run(relayMachine, { branches: ['b1'] });
  b.actor.send({ type: 'branch.response', branch: 'b1', response: response(503, 'Service Unavailable', 'MESSAGE') });
  t.deepEqual(b.of('respond').map((e) => e.event.response.status), [500]);
});

// Restart recovery: a call the journal shows ringing is restored to wait for its INVITE's final
// response, which the new process relays statelessly (src/actors/supervisor.ts onResponse).
const ringing = { ...base, request: invite(), branches: [], toTag: '', restored: { phase: 'ringing', timerCMs: 3000, reason: 'proxy restarted' } };
const facts = (m: ReturnType<typeof run>) => m.of('lifecycle').map((e) => e.event.event);

test('restored ringing call: a 2xx relayed statelessly is journaled answered, indexes the dialog, and the BYE ends it', (t) => {
  const m = run(callMachine, ringing);
  t.is(m.state(), 'recovering');
  m.actor.send({ type: 'stateless.final', response: response(200, 'OK') });
  t.like(facts(m)[0], { name: 'call.answered', status: 200, toTag: 'b1', reason: undefined });
  t.is(m.of('dialog').length, 1);
  t.deepEqual(sent(m), [], 'the supervisor forwards the 2xx, not the call');
  t.is(m.state(), 'confirmed');
  m.advance(5000);
  t.is(m.state(), 'confirmed', 'Timer C no longer runs once answered');
  m.actor.send({ type: 'bye' });
  t.deepEqual(lifecycle(m), ['call.answered', 'call.ended']);
  t.is(m.status(), 'done');
});

test('restored ringing call: a 486 relayed statelessly is journaled busy with its status', (t) => {
  const m = run(callMachine, ringing);
  m.actor.send({ type: 'stateless.final', response: response(486, 'Busy Here') });
  t.deepEqual(facts(m).map((f) => [f.name, f.status]), [['call.busy', 486]]);
  t.deepEqual(sent(m), []);
  t.is(m.status(), 'done');
});

test('restored ringing call: with no final response it is journaled failed for its reason after Timer C (§16.8)', (t) => {
  const m = run(callMachine, { ...ringing, restored: { phase: 'ringing', timerCMs: 3000, reason: 'worker restarted' } });
  m.advance(2999);
  t.deepEqual(lifecycle(m), []);
  t.is(m.state(), 'recovering');
  m.advance(1);
  t.deepEqual(facts(m).map((f) => [f.name, f.reason]), [['call.failed', 'worker restarted']]);
  t.is(m.status(), 'done');
});

test('restored answered call: it resumes confirmed and the BYE ends it', (t) => {
  const m = run(callMachine, { ...base, branches: [], toTag: 'b1', restored: { phase: 'answered', answeredAt: 500, toTag: 'b1' } });
  t.is(m.state(), 'confirmed');
  m.actor.send({ type: 'bye' });
  t.deepEqual(lifecycle(m), ['call.ended']);
  t.is(m.status(), 'done');
});
