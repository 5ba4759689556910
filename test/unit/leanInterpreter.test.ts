import test from 'ava';
import fc from 'fast-check';
import { assign, createMachine, emit, enqueueActions, raise, setup, type AnyStateMachine } from 'xstate';
import { MachineActor, MachineSystem } from '../../src/actors/machineActor.js';
import type { MachineEngine } from '../../src/actors/leanInterpreter.js';
import { inviteServerTransaction } from '../../src/machines/inviteServerTransaction.js';
import { inviteClientTransaction } from '../../src/machines/inviteClientTransaction.js';
import { nonInviteServerTransaction } from '../../src/machines/nonInviteServerTransaction.js';
import { nonInviteClientTransaction } from '../../src/machines/nonInviteClientTransaction.js';
import { callMachine } from '../../src/machines/call.js';
import { relayMachine } from '../../src/machines/relay.js';
import { DEFAULT_TIMERS } from '../../src/machines/timers.js';
import { invite, request, response } from '../helpers/messages.js';
import { parseProxyArgs, type ProxySettings } from '../../src/cli/args.js';

/**
 * The lean interpreter against XState's, machine by machine: random sequences of the events each
 * machine is sent in the proxy, with its delayed events fired in random order, must make both
 * emit the same events, schedule and cancel the same timers, and end in the same state with the
 * same context.
 */

/** Fixed, so a run is repeatable; LEAN_SEED=random (or a number) explores other sequences. */
const SEED = process.env.LEAN_SEED === 'random' ? Date.now() : Number(process.env.LEAN_SEED ?? 20261130);

const clock = { now: 1000 };
const now = () => clock.now;

type Step = { kind: 'event'; event: { type: string; [k: string]: unknown } } | { kind: 'fire'; pick: number };

interface Trace {
  log: unknown[];
  value: unknown;
  status: string;
  context: unknown;
}

/** Runs `steps` on a fresh actor of `machine` under `engine`, its timers held in a list. */
function trace(engine: MachineEngine, machine: AnyStateMachine, input: unknown, steps: Step[]): Trace {
  clock.now = 1000;
  const system = new MachineSystem(undefined, engine);
  const log: unknown[] = [];
  const pending: Array<{ id: string; delay: number; event: { type: string } }> = [];
  const s = system.xstateSystem.scheduler;
  s.schedule = (_source, _target, event, delay, id) => {
    const key = id ?? 'anonymous';
    const i = pending.findIndex((p) => p.id === key);
    if (i >= 0) pending.splice(i, 1);
    pending.push({ id: key, delay, event });
    log.push(['schedule', key, delay, event.type]);
  };
  s.cancel = (_source, id) => {
    const i = pending.findIndex((p) => p.id === id);
    if (i >= 0) pending.splice(i, 1);
    log.push(['cancel', id]);
  };
  const actor = new MachineActor<{ type: string }>(machine, input, system, {
    onEmit: (e) => log.push(['emit', e]),
    onDone: () => log.push(['done']),
    onError: (err) => log.push(['error', String(err)]),
  });
  actor.start();
  for (const step of steps) {
    if (step.kind === 'event') actor.send(step.event);
    else if (pending.length > 0) {
      const [due] = pending.splice(step.pick % pending.length, 1);
      clock.now += due!.delay;
      log.push(['fire', due!.id]);
      actor.send(due!.event);
    }
  }
  const snap = actor.getSnapshot();
  return { log, value: snap.value, status: snap.status, context: snap.context };
}

const resp = (status: number, method = 'INVITE', toTag = 'b1') => response(status, 'Reason', method, 'z9hG4bKtest1', toTag);
const fire = fc.nat(7).map((pick): Step => ({ kind: 'fire', pick }));
const ev = (...events: Array<{ type: string; [k: string]: unknown }>) => fc.constantFrom(...events).map((event): Step => ({ kind: 'event', event }));

interface Case {
  name: string;
  machine: AnyStateMachine;
  inputs: unknown[];
  steps: fc.Arbitrary<Step>;
}

const inviteResponses = [100, 180, 183, 200, 302, 401, 407, 408, 486, 487, 500, 503, 603].map((s) => resp(s));
const cases: Case[] = [
  {
    name: 'INVITE server transaction',
    machine: inviteServerTransaction,
    inputs: [{ request: invite(), timers: DEFAULT_TIMERS, reliable: false }, { request: invite(), timers: DEFAULT_TIMERS, reliable: true }],
    steps: fc.oneof(fire, ev({ type: 'request' }, { type: 'ack' }, { type: 'transportError' }, ...inviteResponses.map((response) => ({ type: 'respond', response })))),
  },
  {
    name: 'INVITE client transaction',
    machine: inviteClientTransaction,
    inputs: [
      { request: invite(), timers: DEFAULT_TIMERS, reliable: false, timerC: 180_000, now },
      { request: invite(), timers: DEFAULT_TIMERS, reliable: true, timerC: null, now },
      { request: invite(), timers: DEFAULT_TIMERS, reliable: true, timerC: 2_000, now },
    ],
    steps: fc.oneof(fire, ev({ type: 'cancel' }, { type: 'transportError' }, ...inviteResponses.map((response) => ({ type: 'response', response })))),
  },
  {
    name: 'non-INVITE server transaction',
    machine: nonInviteServerTransaction,
    inputs: [{ request: request('BYE'), timers: DEFAULT_TIMERS, reliable: false }, { request: request('BYE'), timers: DEFAULT_TIMERS, reliable: true }],
    steps: fc.oneof(fire, ev({ type: 'request' }, { type: 'expire' }, { type: 'transportError' }, ...[100, 200, 404].map((s) => ({ type: 'respond', response: resp(s, 'BYE') })))),
  },
  {
    name: 'non-INVITE client transaction',
    machine: nonInviteClientTransaction,
    inputs: [{ request: request('BYE'), timers: DEFAULT_TIMERS, reliable: false }, { request: request('BYE'), timers: DEFAULT_TIMERS, reliable: true }],
    steps: fc.oneof(fire, ev({ type: 'transportError' }, ...[100, 180, 200, 404].map((s) => ({ type: 'response', response: resp(s, 'BYE') })))),
  },
  {
    name: 'call',
    machine: callMachine,
    inputs: [
      ...[['b1'], ['b1', 'b2'], []].map((branches) => ({ request: invite(), callId: 'call-1', fromTag: 'a1', from: 'sip:alice@proxy', to: 'sip:bob@proxy', branches, toTag: 'px', maxDurationMs: 60_000, lifecycle: true, now })),
      { request: invite(), callId: 'call-1', fromTag: 'a1', from: 'a', to: 'b', branches: ['b1'], toTag: 'px', maxDurationMs: 60_000, lifecycle: false, now },
      { request: invite(), callId: 'call-1', fromTag: 'a1', from: 'a', to: 'b', branches: [], toTag: 'px', maxDurationMs: 60_000, lifecycle: true, restored: { phase: 'answered', answeredAt: 500, toTag: 'b1' }, now },
      { request: invite(), callId: 'call-1', fromTag: 'a1', from: 'a', to: 'b', branches: [], toTag: '', maxDurationMs: 60_000, lifecycle: true, restored: { phase: 'ringing', timerCMs: 2_000, reason: 'proxy restarted' }, now },
    ],
    steps: fc.oneof(
      fire,
      ev({ type: 'cancel' }, { type: 'bye' }, { type: 'branch.timeout', branch: 'b1' }, { type: 'branch.timeout', branch: 'b2' }),
      // Restart recovery: a final response relayed statelessly, shown to a ringing restored call.
      ev(...inviteResponses.map((response) => ({ type: 'stateless.final', response }))),
      fc.tuple(fc.constantFrom('b1', 'b2'), fc.constantFrom(...inviteResponses)).map(([branch, response]): Step => ({ kind: 'event', event: { type: 'branch.response', branch, response } })),
    ),
  },
  {
    name: 'relay',
    machine: relayMachine,
    inputs: [['b1'], ['b1', 'b2']].map((branches) => ({ branches })),
    steps: fc.oneof(
      ev({ type: 'branch.timeout', branch: 'b1' }, { type: 'branch.timeout', branch: 'b2' }),
      fc.tuple(fc.constantFrom('b1', 'b2'), fc.constantFrom(...[100, 180, 200, 404, 503].map((s) => resp(s, 'MESSAGE')))).map(([branch, response]): Step => ({ kind: 'event', event: { type: 'branch.response', branch, response } })),
    ),
  },
];

/**
 * What the proxy's machines do not use but the interpreter implements: a raised event without
 * delay (handled after the microstep, after eventless transitions), an eventless transition with
 * a parameterized guard, reentering and non-reentering transitions to a compound state, a guard
 * checked inside enqueueActions, action params, and the exit actions that run when the machine
 * reaches its final state (the root's included).
 */
const features = setup({
  types: { context: {} as { n: number; log: string[] }, events: {} as { type: string; k?: number } },
  guards: { atLeast: ({ context }, p: { min: number }) => context.n >= p.min },
  actions: {
    note: assign(({ context }, p: { tag: string }) => ({ log: [...context.log, p.tag] })),
    bump: assign({ n: ({ context, event }) => context.n + (event.k ?? 1) }),
    tell: emit(({ context }) => ({ type: 'told', n: context.n, log: context.log.join(',') })),
    maybe: enqueueActions(({ enqueue, check }) => {
      if (check({ type: 'atLeast', params: { min: 1 } } as never)) enqueue({ type: 'note', params: { tag: 'big' } } as never);
      enqueue.raise({ type: 'inner' });
    }),
  },
}).createMachine({
  id: 'features',
  context: { n: 0, log: [] },
  entry: { type: 'note', params: { tag: 'root-entry' } },
  exit: [{ type: 'note', params: { tag: 'root-exit' } }, 'tell'],
  initial: 'a',
  states: {
    a: {
      entry: { type: 'note', params: { tag: 'a-entry' } },
      exit: { type: 'note', params: { tag: 'a-exit' } },
      on: {
        go: { target: 'b', actions: ['bump', raise({ type: 'inner' })] },
        bump: { actions: 'bump' },
        inner: { actions: { type: 'note', params: { tag: 'inner-in-a' } } },
        maybe: { actions: 'maybe' },
      },
    },
    b: {
      initial: 'b1',
      entry: { type: 'note', params: { tag: 'b-entry' } },
      exit: [{ type: 'note', params: { tag: 'b-exit' } }, 'tell'],
      always: { guard: { type: 'atLeast', params: { min: 2 } }, target: 'c' },
      on: {
        inner: { actions: [{ type: 'note', params: { tag: 'inner-in-b' } }, 'tell'] },
        again: { target: 'b', reenter: true },
        // Reentering, to a child of the source: b is left and entered again (XState's domain).
        restart: { target: '.b2', reenter: true },
        stay: { target: 'b' },
        bump: { actions: 'bump' },
        maybe: { actions: 'maybe' },
        back: 'a',
      },
      states: {
        b1: { entry: { type: 'note', params: { tag: 'b1-entry' } }, exit: { type: 'note', params: { tag: 'b1-exit' } }, on: { next: 'b2' }, after: { 50: 'b2' } },
        b2: { entry: { type: 'note', params: { tag: 'b2-entry' } }, exit: { type: 'note', params: { tag: 'b2-exit' } }, on: { next: { target: 'b1', actions: 'tell' } } },
      },
    },
    c: { entry: { type: 'note', params: { tag: 'c-entry' } }, on: { end: 'done', bump: { actions: 'bump' }, dive: 'd' } },
    // An eventless transition to the state's own child, changing nothing: XState takes it once per
    // microstep, not again and again (its emit counts how often).
    d: {
      initial: 'd1',
      always: { target: '.d1' },
      on: { up: 'c', inner: { actions: 'tell' } },
      states: { d1: { entry: 'tell' } },
    },
    done: { type: 'final', entry: { type: 'note', params: { tag: 'done-entry' } }, exit: { type: 'note', params: { tag: 'done-exit' } } },
  },
});
cases.push({
  name: 'a synthetic machine with what the proxy\'s machines leave out',
  machine: features,
  inputs: [undefined],
  steps: fc.oneof(fire, ev(...['go', 'bump', 'maybe', 'again', 'restart', 'stay', 'next', 'back', 'end', 'inner', 'dive', 'up'].map((type) => ({ type })), { type: 'bump', k: 3 })),
});

for (const c of cases) {
  test(`lean interpreter = XState's: ${c.name}`, (t) => {
    fc.assert(
      fc.property(fc.nat(c.inputs.length - 1), fc.array(c.steps, { maxLength: 12 }), (i, steps) => {
        const xstate = trace('xstate', c.machine, c.inputs[i], steps);
        const lean = trace('lean', c.machine, c.inputs[i], steps);
        t.deepEqual(lean, xstate);
        return true;
      }),
      { numRuns: 300, seed: SEED },
    );
  });
}

test('the lean interpreter refuses a machine outside its subset when the actor is made', (t) => {
  const parallel = createMachine({ id: 'p', type: 'parallel', states: { a: {}, b: {} } });
  const hooks = { onEmit: () => {}, onDone: () => {}, onError: () => {} };
  t.throws(() => new MachineActor(parallel, undefined, new MachineSystem(undefined, 'lean'), hooks), { message: /parallel state p not supported/ });
  t.notThrows(() => new MachineActor(parallel, undefined, new MachineSystem(undefined, 'xstate'), hooks));
  // And the rest it leaves to XState: a wildcard event, a child actor, an eventless self-loop, two targets.
  const outside = [
    createMachine({ id: 'w', initial: 'a', states: { a: { on: { '*': 'b' } }, b: {} } }),
    createMachine({ id: 'i', initial: 'a', states: { a: { invoke: { src: createMachine({}) } } } }),
    createMachine({ id: 'e', initial: 'a', states: { a: { always: { actions: () => {} } } } }),
    createMachine({ id: 't', type: 'parallel', states: { x: { on: { go: { target: ['#t.x', '#t.y'] } } }, y: {} } }),
    createMachine({ id: 'r', initial: 'a', states: { a: { on: { go: '#r' } } } }),
  ];
  for (const m of outside) t.throws(() => new MachineActor(m, undefined, new MachineSystem(undefined, 'lean'), hooks), { message: /not supported/ }, m.id);
});

test('--engine: xstate by default, lean on request, anything else refused', (t) => {
  const engineOf = (argv: string[]) => (parseProxyArgs(argv) as ProxySettings).engine;
  t.is(engineOf([]), 'xstate');
  t.is(engineOf(['--engine', 'lean']), 'lean');
  t.throws(() => parseProxyArgs(['--engine', 'fast']), { message: /--engine must be xstate or lean/ });
});
