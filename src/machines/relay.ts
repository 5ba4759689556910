import { assign, emit, enqueueActions, setup } from 'xstate';
import type { SipResponse } from '../sip/message.js';
import { chooseBestResponse, stripOwnVia } from '../proxy/responses.js';

export interface RelayInput {
  /** The branches' client transaction keys. */
  branches: string[];
}

interface Context extends RelayInput {
  pending: string[];
  finals: SipResponse[];
}

type Event =
  | { type: 'branch.response'; branch: string; response: SipResponse }
  | { type: 'branch.timeout'; branch: string };

export type RelayEmitted =
  | { type: 'respond'; response: SipResponse }
  /** No branch answered: the server transaction ends without a response (RFC 4320 §4.2). */
  | { type: 'expire' };

const statusOf = (e: Event) => (e.type === 'branch.response' ? e.response.status : 0);

/**
 * The response context of a forwarded non-INVITE request (RFC 3261 §16.7): provisional responses
 * other than 100 go up at once, the first 2xx ends it, otherwise the best final response of all
 * branches is sent when the last one completes. A branch that times out contributes nothing: the
 * 408 §16.7 step 2 would count for it must not be sent to a non-INVITE request (RFC 4320 §4.2),
 * so with no answer at all nothing is sent.
 */
export const relayMachine = setup({
  types: {
    input: {} as RelayInput,
    context: {} as Context,
    events: {} as Event,
    emitted: {} as RelayEmitted,
  },
  guards: {
    provisional: ({ event }) => statusOf(event) > 100 && statusOf(event) < 200,
    is100: ({ event }) => statusOf(event) === 100,
    success: ({ event }) => statusOf(event) >= 200 && statusOf(event) < 300,
    lastPending: ({ context, event }) => context.pending.length === 1 && context.pending[0] === event.branch,
  },
  actions: {
    forward: emit(({ event }) => ({ type: 'respond', response: stripOwnVia((event as { response: SipResponse }).response) }) as const),
    recordFinal: assign(({ context, event }) => ({
      pending: context.pending.filter((b) => b !== event.branch),
      finals: event.type === 'branch.response' ? [...context.finals, stripOwnVia(event.response)] : context.finals,
    })),
    sendBest: enqueueActions(({ context, enqueue }) => {
      const best = chooseBestResponse(context.finals);
      enqueue.emit(best ? { type: 'respond', response: best } : { type: 'expire' });
    }),
  },
}).createMachine({
  id: 'relay',
  context: ({ input }) => ({ ...input, pending: [...input.branches], finals: [] }),
  initial: 'waiting',
  states: {
    waiting: {
      on: {
        'branch.response': [
          { guard: 'is100' },
          { guard: 'provisional', actions: 'forward' },
          { guard: 'success', target: 'done', actions: 'forward' },
          { guard: 'lastPending', target: 'done', actions: ['recordFinal', 'sendBest'] },
          { actions: 'recordFinal' },
        ],
        'branch.timeout': [
          { guard: 'lastPending', target: 'done', actions: ['recordFinal', 'sendBest'] },
          { actions: 'recordFinal' },
        ],
      },
    },
    done: { type: 'final' },
  },
});
