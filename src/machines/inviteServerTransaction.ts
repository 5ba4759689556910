import { assign, emit, setup } from 'xstate';
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { OutgoingResponse } from '../sip/packedResponse.js';
import { buildResponse } from '../sip/build.js';
import type { TransactionEmitted } from './events.js';
import { sixtyFourT1, type TransactionTimers } from './timers.js';

export interface InviteServerInput {
  request: SipRequest;
  timers: TransactionTimers;
  reliable: boolean;
  /** The 100 Trying to send at once, already localized; built from the request when absent. */
  trying?: SipResponse;
}

interface Context {
  timers: TransactionTimers;
  reliable: boolean;
  /** What a retransmitted INVITE or Timer G resends; dropped once nothing can need it again. */
  lastResponse: OutgoingResponse | null;
  gInterval: number;
}

type Event =
  /** A retransmission of the INVITE. */
  | { type: 'request' }
  | { type: 'ack' }
  /** The TU answers through this transaction. */
  | { type: 'respond'; response: OutgoingResponse }
  | { type: 'transportError' };

const status = (e: Event) => (e.type === 'respond' ? e.response.status : 0);

/**
 * INVITE server transaction (RFC 3261 §17.2.1, Figure 7) with RFC 6026's Accepted state: after a
 * 2xx it stays to absorb INVITE retransmissions and to send on the 2xx retransmissions the TU
 * forwards (Timer L), instead of vanishing at once.
 */
export const inviteServerTransaction = setup({
  types: {
    input: {} as InviteServerInput,
    context: {} as Context,
    events: {} as Event,
    emitted: {} as TransactionEmitted,
  },
  delays: {
    G: ({ context }) => context.gInterval,
    H: ({ context }) => sixtyFourT1(context.timers),
    I: ({ context }) => (context.reliable ? 0 : context.timers.t4),
    L: ({ context }) => sixtyFourT1(context.timers),
  },
  guards: {
    unreliable: ({ context }) => !context.reliable,
    provisional: ({ event }) => status(event) >= 100 && status(event) < 200,
    success: ({ event }) => status(event) >= 200 && status(event) < 300,
  },
  actions: {
    record: assign({ lastResponse: ({ event, context }) => (event.type === 'respond' ? event.response : context.lastResponse) }),
    transmitLast: emit(({ context }) => ({ type: 'transmit', message: context.lastResponse! }) as const),
    // Lingering states keep only what they still send: memory per transaction stays small.
    forget: assign({ lastResponse: null }),
    transmitEvent: emit(({ event }) => ({ type: 'transmit', message: (event as { response: OutgoingResponse }).response }) as const),
    backOffG: assign({ gInterval: ({ context }) => Math.min(context.gInterval * 2, context.timers.t2) }),
    emitAckTimeout: emit({ type: 'ackTimeout' }),
  },
}).createMachine({
  id: 'inviteServerTransaction',
  context: ({ input }) => ({
    timers: input.timers,
    reliable: input.reliable,
    lastResponse: input.trying ?? buildResponse(input.request, 100),
    gInterval: input.timers.t1,
  }),
  initial: 'proceeding',
  states: {
    proceeding: {
      // §17.2.1: a proxy sends 100 Trying at once, so the client stops retransmitting.
      entry: 'transmitLast',
      on: {
        request: { actions: 'transmitLast' },
        respond: [
          { guard: 'provisional', actions: ['record', 'transmitLast'] },
          // Accepted keeps no response (it forwards each 2xx it is given): no need to record this one.
          { guard: 'success', target: 'accepted', actions: 'transmitEvent' },
          { target: 'completed', actions: ['record', 'transmitLast'] },
        ],
        transportError: 'terminated',
      },
    },
    accepted: {
      entry: 'forget',
      after: { L: 'terminated' },
      on: {
        // §16.7 step 10 / RFC 6026: every 2xx from downstream is forwarded, retransmissions too.
        respond: { guard: 'success', actions: 'transmitEvent' },
      },
    },
    completed: {
      // Timer H on the parent: Timer G re-entering its own state must not restart it.
      after: { H: { target: 'terminated', actions: 'emitAckTimeout' } },
      initial: 'retransmitting',
      states: {
        retransmitting: {
          after: { G: { guard: 'unreliable', target: 'retransmitting', reenter: true, actions: ['transmitLast', 'backOffG'] } },
        },
      },
      on: {
        request: { actions: 'transmitLast' },
        ack: 'confirmed',
        // §16.7 step 10: a 2xx from a branch after our non-2xx final is still forwarded at once
        // (the caller ACKs and BYEs it, §13.2.2.4); it is not kept for retransmission.
        respond: { guard: 'success', actions: 'transmitEvent' },
        transportError: 'terminated',
      },
    },
    // Timer I absorbs ACK retransmissions (§17.2.1).
    confirmed: { entry: 'forget', after: { I: 'terminated' }, on: { respond: { guard: 'success', actions: 'transmitEvent' } } },
    terminated: { type: 'final' },
  },
});
