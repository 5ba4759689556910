import { assign, emit, setup } from 'xstate';
import type { SipRequest } from '../sip/message.js';
import type { OutgoingResponse } from '../sip/packedResponse.js';
import type { TransactionEmitted } from './events.js';
import { sixtyFourT1, type TransactionTimers } from './timers.js';

export interface NonInviteServerInput {
  request: SipRequest;
  timers: TransactionTimers;
  reliable: boolean;
}

interface Context {
  timers: TransactionTimers;
  reliable: boolean;
  lastResponse: OutgoingResponse | null;
}

type Event =
  | { type: 'request' }
  | { type: 'respond'; response: OutgoingResponse }
  /**
   * Its TU can give no final response before the transaction expires (every branch timed out):
   * RFC 4320 §4.2 forbids a 408 to a non-INVITE request, so it ends without sending one.
   */
  | { type: 'expire' }
  | { type: 'transportError' };

/** Non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8). */
export const nonInviteServerTransaction = setup({
  types: {
    input: {} as NonInviteServerInput,
    context: {} as Context,
    events: {} as Event,
    emitted: {} as TransactionEmitted,
  },
  delays: {
    J: ({ context }) => (context.reliable ? 0 : sixtyFourT1(context.timers)),
  },
  guards: {
    provisional: ({ event }) => event.type === 'respond' && event.response.status < 200,
  },
  actions: {
    record: assign({ lastResponse: ({ event, context }) => (event.type === 'respond' ? event.response : context.lastResponse) }),
    transmitLast: emit(({ context }) => ({ type: 'transmit', message: context.lastResponse! }) as const),
  },
}).createMachine({
  id: 'nonInviteServerTransaction',
  // The request itself is not kept: the server transaction only ever resends its last response.
  context: ({ input }) => ({ timers: input.timers, reliable: input.reliable, lastResponse: null }),
  initial: 'trying',
  states: {
    // Trying absorbs retransmissions: there is nothing to resend yet.
    trying: {
      on: {
        respond: [
          { guard: 'provisional', target: 'proceeding', actions: ['record', 'transmitLast'] },
          { target: 'completed', actions: ['record', 'transmitLast'] },
        ],
        expire: 'terminated',
        transportError: 'terminated',
      },
    },
    proceeding: {
      on: {
        request: { actions: 'transmitLast' },
        respond: [
          { guard: 'provisional', actions: ['record', 'transmitLast'] },
          { target: 'completed', actions: ['record', 'transmitLast'] },
        ],
        expire: 'terminated',
        transportError: 'terminated',
      },
    },
    // Timer J keeps the final response for retransmitted requests (§17.2.2).
    completed: {
      after: { J: 'terminated' },
      on: { request: { actions: 'transmitLast' } },
    },
    terminated: { type: 'final' },
  },
});
