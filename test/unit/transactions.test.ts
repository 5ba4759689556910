import test from 'ava';
import { inviteClientTransaction } from '../../src/machines/inviteClientTransaction.js';
import { nonInviteClientTransaction } from '../../src/machines/nonInviteClientTransaction.js';
import { inviteServerTransaction } from '../../src/machines/inviteServerTransaction.js';
import { nonInviteServerTransaction } from '../../src/machines/nonInviteServerTransaction.js';
import { invite, request, response } from '../helpers/messages.js';
import { run } from '../helpers/simulated.js';

const timers = { t1: 500, t2: 4000, t4: 5000 };

/** An INVITE client transaction with Timer C, its deadline read from the simulated clock. */
function runC(timerC: number, t = timers) {
  const input: Record<string, unknown> = { request: invite(), timers: t, reliable: false, timerC };
  const m = run(inviteClientTransaction, input);
  return m;
}

test('INVITE client: Timer A doubles from T1, Timer B gives up at 64*T1 (§17.1.1.2)', (t) => {
  const m = run(inviteClientTransaction, { request: invite(), timers, reliable: false, timerC: null });
  m.advance(40_000);
  t.deepEqual(m.of('transmit').map((e) => e.at), [0, 500, 1500, 3500, 7500, 15500, 31500]);
  t.deepEqual(m.of('timeout').map((e) => e.at), [32_000]);
  t.is(m.status(), 'done');
});

test('INVITE client: a provisional stops retransmission; a 486 is ACKed and absorbed until Timer D', (t) => {
  const m = run(inviteClientTransaction, { request: invite(), timers, reliable: false, timerC: null });
  m.actor.send({ type: 'response', response: response(180, 'Ringing') });
  m.advance(10_000);
  t.is(m.of('transmit').length, 1);
  m.actor.send({ type: 'response', response: response(486, 'Busy Here') });
  const acks = () => m.of('transmit').filter((e) => e.event.message.method === 'ACK');
  t.is(acks().length, 1);
  t.is(acks()[0]!.event.message.uri, 'sip:bob@10.0.0.2:5060');
  m.actor.send({ type: 'response', response: response(486, 'Busy Here') });
  t.is(acks().length, 2, 'a retransmitted final response gets the ACK again');
  t.is(m.of('response').length, 2, 'the retransmission is not passed up');
  m.advance(32_000);
  t.is(m.status(), 'done');
});

test('INVITE client: 2xx goes up, then RFC 6026 Accepted passes 2xx retransmissions until Timer M', (t) => {
  const m = run(inviteClientTransaction, { request: invite(), timers, reliable: false, timerC: null });
  m.actor.send({ type: 'response', response: response(200, 'OK') });
  m.actor.send({ type: 'response', response: response(200, 'OK') });
  t.is(m.of('response').length, 2);
  t.is(m.of('transmit').length, 1, 'no ACK for 2xx from the transaction');
  m.advance(31_999);
  t.is(m.status(), 'active');
  m.advance(1);
  t.is(m.status(), 'done');
});

test('INVITE client: Timer C after a provisional sends CANCEL and times the branch out, then gives up 64*T1 later (§16.8, §9.1)', (t) => {
  const m = runC(3000);
  m.advance(1000);
  m.actor.send({ type: 'response', response: response(180, 'Ringing') });
  m.advance(2999);
  t.is(m.of('sendCancel').length, 0, 'Timer C restarted at the provisional');
  m.advance(1);
  t.deepEqual(m.of('sendCancel').map((e) => e.at), [4000]);
  t.deepEqual(m.of('timeout').map((e) => e.at), [4000]);
  m.advance(31_999);
  t.is(m.status(), 'active');
  m.advance(1);
  t.is(m.of('timeout').length, 1, 'the TU hears of the timeout once');
  t.is(m.status(), 'done');
});

test('INVITE client: after Timer C, the callee\'s 487 is ACKed', (t) => {
  const m = runC(3000);
  m.actor.send({ type: 'response', response: response(180, 'Ringing') });
  m.advance(3000);
  m.actor.send({ type: 'response', response: response(487, 'Request Terminated') });
  t.is(m.of('transmit').filter((e) => e.event.message.method === 'ACK').length, 1);
});

test('INVITE client: Timer C without any provisional counts as a timeout (§16.8)', (t) => {
  const m = runC(3000, { ...timers, t1: 5000 });
  m.advance(3000);
  t.is(m.of('timeout').length, 1);
  t.is(m.of('sendCancel').length, 0);
});

test('INVITE client: a CANCEL asked for before any provisional waits for one (§9.1)', (t) => {
  const m = run(inviteClientTransaction, { request: invite(), timers, reliable: false, timerC: null });
  m.actor.send({ type: 'cancel' });
  t.is(m.of('sendCancel').length, 0);
  m.actor.send({ type: 'response', response: response(180, 'Ringing') });
  t.is(m.of('sendCancel').length, 1);
  m.actor.send({ type: 'cancel' });
  t.is(m.of('sendCancel').length, 1, 'only one CANCEL');
  m.actor.send({ type: 'response', response: response(487, 'Request Terminated') });
  t.is(m.of('response').length, 2);
});

test('non-INVITE client: Timer E backs off to T2, stays at T2 in Proceeding, Timer F ends it (§17.1.2.2)', (t) => {
  const m = run(nonInviteClientTransaction, { request: request('BYE'), timers, reliable: false });
  m.advance(16_000);
  t.deepEqual(m.of('transmit').map((e) => e.at), [0, 500, 1500, 3500, 7500, 11500, 15500]);
  m.actor.send({ type: 'response', response: response(100, 'Trying', 'BYE') });
  m.advance(8000);
  t.deepEqual(m.of('transmit').slice(7).map((e) => e.at), [20_000, 24_000]);
  m.advance(8000);
  t.deepEqual(m.of('timeout').map((e) => e.at), [32_000]);
  t.is(m.status(), 'done');
});

test('non-INVITE client: a final response is passed up once and Timer K absorbs the rest', (t) => {
  const m = run(nonInviteClientTransaction, { request: request('BYE'), timers, reliable: false });
  m.actor.send({ type: 'response', response: response(200, 'OK', 'BYE') });
  m.actor.send({ type: 'response', response: response(200, 'OK', 'BYE') });
  t.is(m.of('response').length, 1);
  m.advance(4999);
  t.is(m.status(), 'active');
  m.advance(1);
  t.is(m.status(), 'done');
});

test('INVITE server: 100 at once, a retransmitted INVITE gets the last provisional again', (t) => {
  const m = run(inviteServerTransaction, { request: invite(), timers, reliable: false });
  t.is(m.of('transmit')[0]!.event.message.status, 100);
  m.actor.send({ type: 'respond', response: response(180, 'Ringing') });
  m.actor.send({ type: 'request' });
  t.deepEqual(m.of('transmit').map((e) => e.event.message.status), [100, 180, 180]);
});

test('INVITE server: a 486 is retransmitted by Timer G until the ACK, then Timer I ends it (§17.2.1)', (t) => {
  const m = run(inviteServerTransaction, { request: invite(), timers, reliable: false });
  m.actor.send({ type: 'respond', response: response(486, 'Busy Here') });
  m.advance(8000);
  t.deepEqual(m.of('transmit').slice(1).map((e) => e.at), [0, 500, 1500, 3500, 7500]);
  m.actor.send({ type: 'ack' });
  m.advance(10_000);
  t.is(m.of('transmit').length, 6, 'no retransmission after the ACK');
  t.is(m.status(), 'done');
});

test('INVITE server: Timer H gives up waiting for the ACK at 64*T1', (t) => {
  const m = run(inviteServerTransaction, { request: invite(), timers, reliable: false });
  m.actor.send({ type: 'respond', response: response(404, 'Not Found') });
  m.advance(40_000);
  t.deepEqual(m.of('ackTimeout').map((e) => e.at), [32_000]);
  t.is(m.status(), 'done');
});

test('INVITE server: after a 2xx, Accepted sends 2xx retransmissions and absorbs the INVITE (RFC 6026 Timer L)', (t) => {
  const m = run(inviteServerTransaction, { request: invite(), timers, reliable: false });
  m.actor.send({ type: 'respond', response: response(200, 'OK') });
  m.actor.send({ type: 'request' });
  m.actor.send({ type: 'respond', response: response(200, 'OK') });
  t.deepEqual(m.of('transmit').map((e) => e.event.message.status), [100, 200, 200]);
  m.advance(32_000);
  t.is(m.status(), 'done');
});

test('non-INVITE server: absorbs retransmissions in Trying, answers them in Completed, Timer J ends it (§17.2.2)', (t) => {
  const m = run(nonInviteServerTransaction, { request: request('MESSAGE'), timers, reliable: false });
  m.actor.send({ type: 'request' });
  t.is(m.of('transmit').length, 0);
  m.actor.send({ type: 'respond', response: response(200, 'OK', 'MESSAGE') });
  m.actor.send({ type: 'request' });
  t.is(m.of('transmit').length, 2);
  m.advance(31_999);
  t.is(m.status(), 'active');
  m.advance(1);
  t.is(m.status(), 'done');
});

test('non-INVITE server: expire ends it without sending anything, from Trying or Proceeding (RFC 4320 §4.2)', (t) => {
  const m = run(nonInviteServerTransaction, { request: request('MESSAGE'), timers, reliable: false });
  m.actor.send({ type: 'request' });
  m.actor.send({ type: 'expire' });
  t.is(m.status(), 'done', 'over at once: no Timer J, nothing held');
  t.deepEqual(m.emitted, [], 'no 408, no response at all');
  const p = run(nonInviteServerTransaction, { request: request('MESSAGE'), timers, reliable: false });
  p.actor.send({ type: 'respond', response: response(180, 'Ringing', 'MESSAGE') });
  p.actor.send({ type: 'expire' });
  t.is(p.status(), 'done');
  t.deepEqual(p.of('transmit').map((e) => e.event.message.status), [180], 'only the provisional it had been given');
});

test('non-INVITE server: expire after the final response changes nothing; Timer J still ends it (§17.2.2)', (t) => {
  const m = run(nonInviteServerTransaction, { request: request('MESSAGE'), timers, reliable: false });
  m.actor.send({ type: 'respond', response: response(404, 'Not Found', 'MESSAGE') });
  m.actor.send({ type: 'expire' });
  t.is(m.status(), 'active');
  m.actor.send({ type: 'request' });
  t.deepEqual(m.of('transmit').map((e) => e.event.message.status), [404, 404]);
  m.advance(32_000);
  t.is(m.status(), 'done');
});

test('reliable transports skip retransmissions and linger timers', (t) => {
  const m = run(nonInviteClientTransaction, { request: request('BYE'), timers, reliable: true });
  m.advance(10_000);
  t.is(m.of('transmit').length, 1);
  m.actor.send({ type: 'response', response: response(200, 'OK', 'BYE') });
  m.advance(1);
  t.is(m.status(), 'done');
});
