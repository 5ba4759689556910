import { assign, cancel, emit, enqueueActions, setup } from 'xstate';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { buildAckForNon2xx, buildCancel } from '../sip/build.js';
import type { TransactionEmitted } from './events.js';
import { sixtyFourT1, timerD, type TransactionTimers } from './timers.js';

export interface InviteClientInput {
  request: SipRequest;
  timers: TransactionTimers;
  reliable: boolean;
  /** Proxy Timer C (§16.8) in ms, or null when not acting as a proxy branch. */
  timerC: number | null;
  now?: () => number;
}

interface Context extends Omit<InviteClientInput, 'request'> {
  /** Retransmitted by Timer A and the model of ACK and CANCEL; dropped once final. */
  request: SipRequest | null;
  /** The ACK for the non-2xx final response, resent for each retransmission of it. */
  ack: SipRequest | null;
  aInterval: number;
  cancelRequested: boolean;
  cancelSent: boolean;
  /** When Timer C really expires (it moves with every provisional response). */
  cDeadline: number;
  now: () => number;
  /** The TU was already told this branch timed out (Timer C): the later 487 only needs its ACK. */
  timedOut: boolean;
}

type Event =
  | { type: 'response'; response: SipResponse }
  /** The TU cancels this branch (§9.1, §16.10). */
  | { type: 'cancel' }
  | { type: 'transportError' }
  | { type: 'timerC' }
  | { type: 'cancelGuard' };

const is100 = ({ event }: { event: Event }) => event.type === 'response' && event.response.status === 100;
const is1xx = ({ event }: { event: Event }) => event.type === 'response' && event.response.status < 200;
const is2xx = ({ event }: { event: Event }) => event.type === 'response' && event.response.status >= 200 && event.response.status < 300;

/**
 * INVITE client transaction (RFC 3261 §17.1.1, Figure 5) with RFC 6026's Accepted state, so 2xx
 * retransmissions keep reaching the TU (a proxy must forward them, §16.7), and the proxy's
 * Timer C (§16.8) as a resettable delayed event.
 */
export const inviteClientTransaction = setup({
  types: {
    input: {} as InviteClientInput,
    context: {} as Context,
    events: {} as Event,
    emitted: {} as TransactionEmitted,
  },
  delays: {
    A: ({ context }) => context.aInterval,
    B: ({ context }) => sixtyFourT1(context.timers),
    D: ({ context }) => timerD(context.timers, context.reliable),
    M: ({ context }) => sixtyFourT1(context.timers),
  },
  guards: {
    unreliable: ({ context }) => !context.reliable,
    is100,
    is1xx,
    is2xx,
    cancelRequested: ({ context }) => context.cancelRequested,
    mayCancel: ({ context }) => !context.cancelSent,
    timerCEarly: ({ context }) => context.now() < context.cDeadline,
  },
  actions: {
    transmitRequest: emit(({ context }) => ({ type: 'transmit', message: context.request! }) as const),
    doubleA: assign({ aInterval: ({ context }) => context.aInterval * 2 }),
    passUp: emit(({ event }) => ({ type: 'response', response: (event as { response: SipResponse }).response }) as const),
    // §17.1.1.3: the ACK is built once, from the INVITE and the first final response.
    buildAck: assign(({ context, event }) => ({
      ack: context.ack ?? buildAckForNon2xx(context.request!, (event as { response: SipResponse }).response),
      request: null,
    })),
    sendAck: emit(({ context }) => ({ type: 'transmit', message: context.ack! }) as const),
    forget: assign({ request: null }),
    emitTimeout: emit({ type: 'timeout' }),
    // Timer C after a provisional: the branch is over for the TU now (a 408, as Kamailio's fr_inv_timer).
    timeOutForTu: enqueueActions(({ context, enqueue }) => {
      if (context.timedOut) return;
      enqueue.assign({ timedOut: true });
      enqueue.emit({ type: 'timeout' });
    }),
    // Its deadline is set with the context (no assign, which copies the snapshot, at every start).
    startTimerC: enqueueActions(({ context, enqueue }) => {
      if (context.timerC !== null) enqueue.raise({ type: 'timerC' }, { id: 'timerC', delay: context.timerC });
    }),
    // §16.7 step 2: a provisional response 101-199 resets Timer C. Moving the deadline is enough:
    // the scheduled timer, when it fires early, waits out the rest (no cancel and reschedule).
    resetTimerC: enqueueActions(({ context, event, enqueue }) => {
      if (context.timerC === null || event.type !== 'response' || event.response.status === 100) return;
      enqueue.assign({ cDeadline: context.now() + context.timerC });
    }),
    rearmTimerC: enqueueActions(({ context, enqueue }) => {
      enqueue.raise({ type: 'timerC' }, { id: 'timerC', delay: Math.max(1, context.cDeadline - context.now()) });
    }),
    stopTimerC: cancel('timerC'),
    requestCancel: assign({ cancelRequested: true }),
    // §9.1: CANCEL is sent once; if no final response follows within 64*T1, the branch is given up.
    sendCancel: enqueueActions(({ enqueue, context }) => sendCancelNow(context, enqueue)),
    stopCancelGuard: cancel('cancelGuard'),
    cancelIfRequested: enqueueActions(({ context, enqueue }) => {
      if (context.cancelRequested) sendCancelNow(context, enqueue);
    }),
  },
}).createMachine({
  id: 'inviteClientTransaction',
  // Field by field, not `...input`: one object shape for every transaction.
  context: ({ input }) => {
    const now = input.now ?? Date.now;
    return {
      request: input.request,
      timers: input.timers,
      reliable: input.reliable,
      timerC: input.timerC,
      now,
      ack: null,
      aInterval: input.timers.t1,
      cancelRequested: false,
      cancelSent: false,
      timedOut: false,
      cDeadline: input.timerC === null ? 0 : now() + input.timerC,
    };
  },
  initial: 'calling',
  entry: ['transmitRequest', { type: 'startTimerC' }],
  states: {
    calling: {
      // Timer B sits on the parent so that Timer A re-entering its own state does not restart it.
      after: { B: { target: 'terminated', actions: 'emitTimeout' } },
      initial: 'retransmitting',
      states: {
        retransmitting: {
          after: { A: { guard: 'unreliable', target: 'retransmitting', reenter: true, actions: ['transmitRequest', 'doubleA'] } },
        },
      },
      on: {
        response: [
          // §9.1: a CANCEL wished for before any provisional goes out with the first one.
          // A 100 is hop by hop (§16.7 step 5): it stops Timer A and lets a CANCEL go, nothing for the TU.
          { guard: 'is100', target: 'proceeding', actions: 'cancelIfRequested' },
          { guard: 'is1xx', target: 'proceeding', actions: ['passUp', 'resetTimerC', 'cancelIfRequested'] },
          { guard: 'is2xx', target: 'accepted', actions: 'passUp' },
          { target: 'completed', actions: ['passUp', 'buildAck', 'sendAck'] },
        ],
        // §9.1: no CANCEL before a provisional response; remember the wish.
        cancel: { actions: 'requestCancel' },
        // §16.8: Timer C without any provisional response counts as a 408.
        timerC: [{ guard: 'timerCEarly', actions: 'rearmTimerC' }, { target: 'terminated', actions: 'emitTimeout' }],
        transportError: { target: 'terminated', actions: 'emitTimeout' },
      },
    },
    proceeding: {
      on: {
        response: [
          { guard: 'is100' },
          { guard: 'is1xx', actions: ['passUp', 'resetTimerC'] },
          { guard: 'is2xx', target: 'accepted', actions: 'passUp' },
          { target: 'completed', actions: ['passUp', 'buildAck', 'sendAck'] },
        ],
        cancel: { guard: 'mayCancel', actions: 'sendCancel' },
        // §16.8: Timer C after a provisional response: CANCEL the branch, which is now a 408 for the TU.
        timerC: [{ guard: 'timerCEarly', actions: 'rearmTimerC' }, { guard: 'mayCancel', actions: ['sendCancel', 'timeOutForTu'] }],
        cancelGuard: { target: 'terminated', actions: 'timeOutForTu' },
        transportError: { target: 'terminated', actions: 'emitTimeout' },
      },
    },
    accepted: {
      entry: ['stopTimerC', 'stopCancelGuard', 'forget'],
      after: { M: 'terminated' },
      on: { response: { guard: 'is2xx', actions: 'passUp' } },
    },
    completed: {
      entry: ['stopTimerC', 'stopCancelGuard'],
      after: { D: 'terminated' },
      // A retransmitted final response is answered with the same ACK, not passed up (§17.1.1.2).
      on: { response: { guard: ({ event }) => event.response.status >= 300, actions: 'sendAck' } },
    },
    terminated: { type: 'final', entry: ['stopTimerC', 'stopCancelGuard'] },
  },
});

/** §9.1: CANCEL is sent once; if no final response follows within 64*T1, the branch is given up. */
function sendCancelNow(
  context: Context,
  enqueue: {
    assign: (a: Partial<Context>) => void;
    emit: (e: TransactionEmitted) => void;
    raise: (e: { type: 'cancelGuard' }, o: { id: string; delay: number }) => void;
  },
): void {
  enqueue.assign({ cancelSent: true, cancelRequested: false });
  enqueue.emit({ type: 'sendCancel', cancel: buildCancel(context.request!) });
  enqueue.raise({ type: 'cancelGuard' }, { id: 'cancelGuard', delay: sixtyFourT1(context.timers) });
}
