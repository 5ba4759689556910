import { assign, emit, setup } from 'xstate';
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { TransactionEmitted } from './events.js';
import { sixtyFourT1, type TransactionTimers } from './timers.js';

export interface NonInviteClientInput {
  request: SipRequest;
  timers: TransactionTimers;
  reliable: boolean;
}

interface Context {
  /** Retransmitted by Timer E; dropped in Completed, where nothing is sent any more. */
  request: SipRequest | null;
  timers: TransactionTimers;
  reliable: boolean;
  eInterval: number;
}

type Event = { type: 'response'; response: SipResponse } | { type: 'transportError' };

/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6). Timer F runs on the parent state so
 * it keeps counting across Trying and Proceeding; Timer E restarts at T2 in Proceeding.
 */
export const nonInviteClientTransaction = setup({
  types: {
    input: {} as NonInviteClientInput,
    context: {} as Context,
    events: {} as Event,
    emitted: {} as TransactionEmitted,
  },
  delays: {
    E: ({ context }) => context.eInterval,
    F: ({ context }) => sixtyFourT1(context.timers),
    K: ({ context }) => (context.reliable ? 0 : context.timers.t4),
  },
  guards: {
    unreliable: ({ context }) => !context.reliable,
    isProvisional: ({ event }) => event.type === 'response' && event.response.status < 200,
  },
  actions: {
    transmitRequest: emit(({ context }) => ({ type: 'transmit', message: context.request! }) as const),
    forget: assign({ request: null }),
    backOffE: assign({ eInterval: ({ context }) => Math.min(context.eInterval * 2, context.timers.t2) }),
    holdEAtT2: assign({ eInterval: ({ context }) => context.timers.t2 }),
    passUp: emit(({ event }) => ({ type: 'response', response: (event as { response: SipResponse }).response }) as const),
    emitTimeout: emit({ type: 'timeout' }),
  },
}).createMachine({
  id: 'nonInviteClientTransaction',
  context: ({ input }) => ({ request: input.request, timers: input.timers, reliable: input.reliable, eInterval: input.timers.t1 }),
  initial: 'pending',
  entry: 'transmitRequest',
  states: {
    pending: {
      after: { F: { target: 'terminated', actions: 'emitTimeout' } },
      on: { transportError: { target: 'terminated', actions: 'emitTimeout' } },
      initial: 'trying',
      states: {
        trying: {
          after: { E: { guard: 'unreliable', target: 'trying', reenter: true, actions: ['transmitRequest', 'backOffE'] } },
          on: {
            response: [
              { guard: 'isProvisional', target: 'proceeding', actions: ['passUp', 'holdEAtT2'] },
              { target: '#nonInviteClientTransaction.completed', actions: 'passUp' },
            ],
          },
        },
        proceeding: {
          after: { E: { guard: 'unreliable', target: 'proceeding', reenter: true, actions: 'transmitRequest' } },
          on: {
            response: [
              { guard: 'isProvisional', actions: 'passUp' },
              { target: '#nonInviteClientTransaction.completed', actions: 'passUp' },
            ],
          },
        },
      },
    },
    // Timer K absorbs retransmitted final responses (§17.1.2.2).
    completed: { entry: 'forget', after: { K: 'terminated' } },
    terminated: { type: 'final' },
  },
});
