import { assign, emit, enqueueActions, setup } from 'xstate';
import { getHeader, type SipRequest, type SipResponse } from '../sip/message.js';
import { tagOf } from '../sip/nameAddr.js';
import { buildResponse } from '../sip/build.js';
import { chooseBestResponse, stripOwnVia } from '../proxy/responses.js';
import type { CallLifecycleEvent, CallLifecycleName } from './lifecycle.js';
import { outcomeOf } from './outcome.js';

export interface CallInput {
  /** The INVITE as received (Via stamped), to build the responses this proxy generates itself. */
  request: SipRequest;
  callId: string;
  /** The caller's From tag: with the Call-ID, the call's name in the journal. */
  fromTag: string;
  /** From and To URIs without display name, tag or parameters: what the call log shows. */
  from: string;
  to: string;
  /** Client transaction keys of the branches forked for this INVITE (§16.6). */
  branches: string[];
  /** To tag for responses generated here (§8.2.6.2). */
  toTag: string;
  /** The final response to give when there is no branch at all (404/480 from the target set, §16.5). */
  localFinal?: { status: number; reason?: string };
  /** A dialog kept open this long without BYE is ended (a phone that vanished must not leak). */
  maxDurationMs: number;
  /** False for a re-INVITE: it only relays, the dialog's own call machine holds the lifecycle. */
  lifecycle: boolean;
  /** Restart recovery: what the journal says of a call still open when the proxy (or its worker) died. */
  restored?: RestoredCallState;
  now?: () => number;
}

/**
 * A call the journal shows open at a restart. Answered: it resumes confirmed, its deadline
 * re-armed. Ringing: the callee may still answer, so it waits in 'recovering' for the INVITE's
 * final response, which the new process relays statelessly (§16.7, no client transaction), for
 * at most Timer C (§16.8), then fails for `reason`.
 */
export type RestoredCallState =
  | { phase: 'answered'; answeredAt: number; toTag: string }
  | { phase: 'ringing'; timerCMs: number; reason: string };

interface Context extends Omit<CallInput, 'request'> {
  /** Needed for responses generated here, until the call is answered or over. */
  request: SipRequest | null;
  pending: string[];
  finals: SipResponse[];
  cancelledByCaller: boolean;
  ringing: boolean;
  answeredAt: number | null;
}

type Event =
  | { type: 'branch.response'; branch: string; response: SipResponse }
  | { type: 'branch.timeout'; branch: string }
  /** The caller CANCELled the INVITE (§16.10). */
  | { type: 'cancel' }
  /** An in-dialog BYE of this dialog reached the proxy: the session is over (§15.1). */
  | { type: 'bye' }
  /** Restart recovery: a final response to a ringing restored call's INVITE, relayed statelessly by the supervisor. */
  | { type: 'stateless.final'; response: SipResponse };

export type CallEmitted =
  | { type: 'respond'; response: SipResponse }
  | { type: 'cancelBranches'; branches: string[] }
  | { type: 'lifecycle'; event: CallLifecycleEvent }
  /** The 2xx that confirmed a dialog: the supervisor indexes the dialog id for in-dialog requests. */
  | { type: 'dialog'; response: SipResponse };

/** What a confirmed call lets go of: the INVITE and the branches' answers (never mutated, so shared). */
const RELEASED: Pick<Context, 'request' | 'finals' | 'branches'> = { request: null, finals: [], branches: [] };

const statusOf = (e: Event) => (e.type === 'branch.response' || e.type === 'stateless.final' ? e.response.status : 0);

/**
 * One call: the response context of a dialog-creating INVITE (RFC 3261 §16.7: forwarding
 * provisional and 2xx responses at once, keeping the best final response, cancelling pending
 * branches on 2xx or 6xx, CANCEL §16.10) and the dialog it creates (early, confirmed, terminated,
 * §12), emitting the call's lifecycle facts.
 */
export const callMachine = setup({
  types: {
    input: {} as CallInput,
    context: {} as Context,
    events: {} as Event,
    emitted: {} as CallEmitted,
  },
  delays: {
    // Absolute: counted from the answer, so a restored call keeps its original deadline.
    maxDuration: ({ context }) => Math.max(0, (context.answeredAt ?? clock(context)()) + context.maxDurationMs - clock(context)()),
    // §16.8: a proxy gives up on an INVITE after Timer C; counted from the restart, as the old
    // process's Timer C died with it.
    timerC: ({ context }) => (context.restored?.phase === 'ringing' ? context.restored.timerCMs : 0),
  },
  guards: {
    noBranches: ({ context }) => context.branches.length === 0,
    restored: ({ context }) => context.restored !== undefined,
    answeredBeforeRestart: ({ context }) => context.restored?.phase === 'answered',
    is100: ({ event }) => statusOf(event) === 100,
    // A branch already final for us (timed out, or cancelled after a 6xx) only matters with a 2xx.
    settledBranch: ({ context, event }) => 'branch' in event && !context.pending.includes(event.branch) && !(statusOf(event) >= 200 && statusOf(event) < 300),
    provisional: ({ event }) => statusOf(event) > 100 && statusOf(event) < 200,
    success: ({ event }) => statusOf(event) >= 200 && statusOf(event) < 300,
    failure: ({ event }) => statusOf(event) >= 300,
    lastPending: ({ context, event }) =>
      'branch' in event && context.pending.length === 1 && context.pending[0] === event.branch,
    successInDialog: ({ context, event }) => !context.lifecycle && statusOf(event) >= 200 && statusOf(event) < 300,
  },
  actions: {
    forward: emit(({ event }) => ({ type: 'respond', response: stripOwnVia((event as { response: SipResponse }).response) }) as const),
    noteRinging: enqueueActions(({ context, event, enqueue }) => {
      const s = statusOf(event);
      if (context.ringing || (s !== 180 && s !== 183)) return;
      enqueue.assign({ ringing: true });
      if (context.lifecycle) enqueue.emit({ type: 'lifecycle', event: fact(context, 'call.ringing') });
    }),
    answered: enqueueActions(({ context, event, enqueue }) => {
      const response = stripOwnVia((event as { response: SipResponse }).response);
      const toTag = tagOf(getHeader(response, 'to')) ?? '';
      // The fact is recorded before the 2xx goes out: with --fsync always it is durable first.
      // A re-INVITE's 2xx belongs to the dialog its call already holds: only a new call indexes one.
      if (context.lifecycle) {
        enqueue.emit({ type: 'lifecycle', event: fact(context, 'call.answered', { status: response.status, toTag }) });
        enqueue.emit({ type: 'dialog', response });
      }
      // §16.7 step 10 (and RFC 3261 §16.7 "2xx ... CANCEL all pending"): the other forks stop ringing.
      const others = context.pending.filter((b) => b !== (event as { branch: string }).branch);
      if (others.length) enqueue.emit({ type: 'cancelBranches', branches: others });
      // One assign (each copies the whole snapshot), which also lets go of what a confirmed call
      // no longer needs: the INVITE and the branches' answers.
      enqueue.assign({ answeredAt: clock(context)(), pending: [], ...RELEASED });
    }),
    recordFinal: assign(({ context, event }) => {
      if (event.type !== 'branch.response' && event.type !== 'branch.timeout') return {};
      // §16.7 step 2: a branch that timed out counts as a 408 generated here.
      const final =
        event.type === 'branch.response'
          ? stripOwnVia(event.response)
          : buildResponse(context.request!, 408, { toTag: context.toTag });
      return { pending: context.pending.filter((b) => b !== event.branch), finals: [...context.finals, final] };
    }),
    // §16.7 step 5: a 6xx stops every other branch.
    cancelOthersOn6xx: enqueueActions(({ context, event, enqueue }) => {
      if (statusOf(event) >= 600 && context.pending.length) enqueue.emit({ type: 'cancelBranches', branches: context.pending });
    }),
    sendBest: enqueueActions(({ context, enqueue }) => {
      const best = chooseBestResponse(context.finals) ?? buildResponse(context.request!, 408, { toTag: context.toTag });
      if (context.lifecycle && logsAsCall(best.status)) enqueue.emit({ type: 'lifecycle', event: finalFact(context, best.status) });
      enqueue.emit({ type: 'respond', response: best });
    }),
    sendLocalFinal: enqueueActions(({ context, enqueue }) => {
      const lf = context.localFinal ?? { status: 500 };
      const response = buildResponse(context.request!, lf.status, { toTag: context.toTag, ...(lf.reason ? { reason: lf.reason } : {}) });
      if (context.lifecycle) enqueue.emit({ type: 'lifecycle', event: finalFact(context, lf.status) });
      enqueue.emit({ type: 'respond', response });
    }),
    // §16.10: CANCEL every pending branch; the 487s come back through them.
    cancelPending: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ cancelledByCaller: true });
      if (context.pending.length) enqueue.emit({ type: 'cancelBranches', branches: context.pending });
    }),
    // A restored call has no INVITE nor branches of its own (an answered one forgets in 'answered').
    forget: assign(RELEASED),
    // A ringing restored call's final response, already on its way to the caller: its outcome as
    // sendBest would log it. The supervisor forwards the response itself.
    recoveredFinal: enqueueActions(({ context, event, enqueue }) => {
      const s = statusOf(event);
      if (logsAsCall(s)) enqueue.emit({ type: 'lifecycle', event: finalFact(context, s) });
    }),
    failedUnanswered: emit(({ context }) => ({
      type: 'lifecycle',
      event: fact(context, 'call.failed', { reason: context.restored?.phase === 'ringing' ? context.restored.reason : 'proxy restarted' }),
    }) as const),
    ended: emit(({ context }) => ({ type: 'lifecycle', event: fact(context, 'call.ended') }) as const),
    endedByTimeout: emit(({ context }) => ({ type: 'lifecycle', event: fact(context, 'call.ended', { reason: 'max-duration' }) }) as const),
  },
}).createMachine({
  id: 'call',
  // Field by field, not `...input`: one object shape for every call (the spread was a tenth of
  // a call's time in the profile).
  context: ({ input }) => ({
    request: input.request,
    callId: input.callId,
    fromTag: input.fromTag,
    from: input.from,
    to: input.to,
    branches: input.branches,
    toTag: input.toTag,
    localFinal: input.localFinal,
    maxDurationMs: input.maxDurationMs,
    lifecycle: input.lifecycle,
    restored: input.restored,
    now: input.now,
    pending: [...input.branches],
    finals: [],
    cancelledByCaller: false,
    ringing: false,
    answeredAt: input.restored?.phase === 'answered' ? input.restored.answeredAt : null,
  }),
  initial: 'routing',
  states: {
    routing: {
      always: [
        { guard: 'restored', target: 'restored', actions: 'forget' },
        { guard: 'noBranches', target: 'terminated', actions: 'sendLocalFinal' },
        { target: 'proceeding' },
      ],
    },
    // Restart recovery: the journal decides where a restored call resumes (a state of its own,
    // so a new call's routing checks one guard, as before).
    restored: {
      always: [{ guard: 'answeredBeforeRestart', target: 'confirmed' }, { target: 'recovering' }],
    },
    // Ringing when the proxy died: the callee may still answer. The answer reaches the caller
    // through the new process statelessly (§16.7: no client transaction); the supervisor shows
    // it here so the call's outcome is journaled as any call's.
    recovering: {
      after: { timerC: { target: 'terminated', actions: 'failedUnanswered' } },
      on: {
        // The caller's CANCEL, passed on statelessly by the supervisor (§16.10): its outcome is
        // then 'cancelled', as for any call.
        cancel: { actions: 'cancelPending' },
        'stateless.final': [
          // The fact and the dialog's index before the 2xx goes on (as 'answered' for any call).
          { guard: 'success', target: 'confirmed', actions: 'answered' },
          { guard: 'failure', target: 'terminated', actions: 'recoveredFinal' },
        ],
      },
    },
    proceeding: {
      on: {
        'branch.response': [
          // §16.7 step 5: 100 Trying is hop-by-hop and never forwarded.
          { guard: 'is100' },
          { guard: 'settledBranch' },
          { guard: 'provisional', target: '.early', actions: ['noteRinging', 'forward'] },
          // A re-INVITE's context ends with its 2xx; a new call's dialog is confirmed.
          { guard: 'successInDialog', target: 'terminated', actions: ['answered', 'forward'] },
          { guard: 'success', target: 'confirmed', actions: ['answered', 'forward'] },
          { guard: 'lastPending', target: 'terminated', actions: ['recordFinal', 'sendBest'] },
          { actions: ['recordFinal', 'cancelOthersOn6xx'] },
        ],
        'branch.timeout': [
          { guard: 'settledBranch' },
          { guard: 'lastPending', target: 'terminated', actions: ['recordFinal', 'sendBest'] },
          { actions: 'recordFinal' },
        ],
        cancel: { actions: 'cancelPending' },
      },
      initial: 'calling',
      states: {
        calling: {},
        early: {},
      },
    },
    confirmed: {
      after: { maxDuration: { target: 'terminated', actions: 'endedByTimeout' } },
      on: {
        // Every further 2xx is forwarded too: retransmissions and other forks' answers (§16.7 step 10).
        'branch.response': { guard: 'success', actions: 'forward' },
        // §15.1: the session ends with the BYE, whatever its response. 2xx retransmissions that
        // still come are forwarded by the supervisor once this machine is gone (§16.7 step 10).
        bye: { target: 'terminated', actions: 'ended' },
      },
    },
    terminated: { type: 'final' },
  },
});

function clock(c: Context): () => number {
  return c.now ?? Date.now;
}

function fact(c: Context, name: CallLifecycleName, extra: Partial<CallLifecycleEvent> = {}): CallLifecycleEvent {
  return { name, at: clock(c)(), callId: c.callId, fromTag: c.fromTag, from: c.from, to: c.to, ...extra };
}

/** A 401/407 is a challenge the caller answers with a new INVITE of the same call: not an outcome. */
function logsAsCall(status: number): boolean {
  return status !== 401 && status !== 407;
}

function finalFact(c: Context, status: number): CallLifecycleEvent {
  const outcome = outcomeOf(status, c.cancelledByCaller);
  return fact(c, `call.${outcome === 'answered' ? 'answered' : outcome}` as CallLifecycleName, { status });
}
