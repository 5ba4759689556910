import test from 'ava';
import { assign, createActor, emit, setup, type InspectionEvent } from 'xstate';
import { MachineActor, MachineSystem } from '../../src/actors/machineActor.js';
import { nonInviteServerTransaction } from '../../src/machines/nonInviteServerTransaction.js';
import { msg } from '../helpers/messages.js';
import type { SipRequest, SipResponse } from '../../src/sip/message.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small machine with what ours use: assign, emit, a delayed transition, a final state. */
const toy = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'inc' } | { type: 'arm' } | { type: 'boom' }, emitted: {} as { type: 'count'; n: number } },
  actions: {
    inc: assign({ n: ({ context }) => context.n + 1 }),
    tell: emit(({ context }) => ({ type: 'count' as const, n: context.n })),
    boom: () => {
      throw new Error('boom');
    },
  },
}).createMachine({
  context: { n: 0 },
  initial: 'idle',
  states: {
    idle: { on: { inc: { actions: ['inc', 'tell'] }, arm: 'armed', boom: { actions: 'boom' } } },
    armed: { after: { 30: 'done' }, on: { inc: 'idle' } },
    done: { type: 'final' },
  },
});

function start(onEmit: (e: { type: string; n?: number }) => void = () => {}, inspect?: (e: InspectionEvent) => void) {
  const ends: string[] = [];
  const errors: unknown[] = [];
  const system = new MachineSystem(inspect);
  const actor = new MachineActor(toy, undefined, system, { onEmit, onDone: () => ends.push('done'), onError: (e) => errors.push(e) });
  actor.start();
  return { actor, ends, errors, system };
}

test('events change the state as XState would; emitted events come after their transition', (t) => {
  const seen: number[] = [];
  const { actor } = start((e) => seen.push(e.n!));
  actor.send({ type: 'inc' });
  actor.send({ type: 'inc' });
  t.deepEqual(seen, [1, 2]);
  t.deepEqual(actor.getSnapshot().context, { n: 2 });
});

test('an event sent from an emit handler waits until the current one is done (mailbox order)', (t) => {
  const order: string[] = [];
  let actor: MachineActor<never>;
  ({ actor } = start((e) => {
    order.push(`emit ${e.n}`);
    if (e.n === 1) {
      actor.send({ type: 'inc' });
      order.push('sent');
    }
  }));
  actor.send({ type: 'inc' });
  t.deepEqual(order, ['emit 1', 'sent', 'emit 2']);
});

test('a delayed transition fires, reaches the final state, ends once and leaves no timer', async (t) => {
  const { actor, ends, system } = start();
  actor.send({ type: 'arm' });
  t.is(actor.getSnapshot().value, 'armed');
  t.is(system.delays.pending, 1);
  await sleep(80);
  t.is(system.delays.pending, 0);
  t.is(actor.getSnapshot().status, 'done');
  t.deepEqual(ends, ['done']);
  actor.send({ type: 'inc' });
  t.deepEqual(ends, ['done'], 'an ended actor ignores events');
});

test('leaving a state cancels its delayed transition', async (t) => {
  const { actor, ends, system } = start();
  actor.send({ type: 'arm' });
  actor.send({ type: 'inc' });
  t.is(system.delays.pending, 0);
  await sleep(80);
  t.is(actor.getSnapshot().value, 'idle');
  t.deepEqual(ends, []);
  actor.stop();
  t.deepEqual(ends, ['done']);
});

test('a throwing action stops the actor: onError, then onDone', (t) => {
  const { actor, ends, errors } = start();
  actor.send({ type: 'boom' });
  t.is((errors[0] as Error).message, 'boom');
  t.deepEqual(ends, ['done']);
});

test('the inspector sees the actor, its events and its snapshots', (t) => {
  const seen: InspectionEvent[] = [];
  const { actor } = start(() => {}, (e) => seen.push(e));
  actor.send({ type: 'inc' });
  t.deepEqual(
    seen.filter((e) => e.type !== '@xstate.microstep' && e.type !== '@xstate.action').map((e) => e.type),
    ['@xstate.actor', '@xstate.snapshot', '@xstate.event', '@xstate.snapshot'],
  );
  const snap = seen.find((e) => e.type === '@xstate.snapshot' && (e as { event: { type: string } }).event.type === 'inc') as unknown as { snapshot: { context: unknown } };
  t.deepEqual(snap.snapshot.context, { n: 1 });
});

test('a real transaction machine emits the same as under createActor (non-INVITE server, §17.2.2)', (t) => {
  const req = msg('OPTIONS sip:a@10.0.0.9 SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\nFrom: <sip:b@10.0.0.9>;tag=1\nTo: <sip:a@10.0.0.9>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n') as SipRequest;
  const ok = { kind: 'response', status: 200, reason: 'OK', headers: [], body: Buffer.alloc(0) } as unknown as SipResponse;
  const input = () => ({ request: req, timers: { t1: 500, t2: 4000, t4: 5000 }, reliable: false });
  const script = [{ type: 'request' }, { type: 'respond', response: ok }, { type: 'request' }];

  const viaXState: string[] = [];
  const a = createActor(nonInviteServerTransaction, { input: input() });
  a.on('*', (e) => viaXState.push(e.type));
  a.start();
  for (const e of script) a.send(e as never);
  const xstateValue = a.getSnapshot().value;
  a.stop();

  const viaShell: string[] = [];
  const b = new MachineActor<{ type: string }>(nonInviteServerTransaction, input(), new MachineSystem(), { onEmit: (e) => viaShell.push(e.type), onDone: () => {}, onError: (e) => t.fail(String(e)) });
  b.start();
  for (const e of script) b.send(e);
  t.deepEqual(viaShell, viaXState);
  t.deepEqual(b.getSnapshot().value, xstateValue);
  b.stop();
});

// With each interpreter (src/actors/leanInterpreter.ts): the same outcome.
for (const engine of ['xstate', 'lean'] as const) {
  test(`a machine that fails while starting reports the error and runs none of its entry effects (--engine ${engine})`, (t) => {
    const failing = setup({}).createMachine({
      initial: 'a',
      entry: [emit({ type: 'transmit' }), () => {
        throw new Error('entry boom');
      }],
      states: { a: {} },
    });
    const seen: string[] = [];
    const errors: unknown[] = [];
    const actor = new MachineActor<{ type: string }>(failing, undefined, new MachineSystem(undefined, engine), { onEmit: (e) => seen.push(e.type), onDone: () => seen.push('done'), onError: (e) => errors.push(e) });
    actor.start();
    t.deepEqual(seen, ['done']);
    t.is((errors[0] as Error).message, 'entry boom');
  });
}

test('an actor ended by one of its own effects runs no further effect and arms no timer', async (t) => {
  let actor: MachineActor<never>;
  const seen: string[] = [];
  const m = setup({}).createMachine({
    initial: 'a',
    states: { a: { on: { go: 'b' } }, b: { entry: emit({ type: 'first' }), after: { 20: 'c' } }, c: { entry: emit({ type: 'late' }) } },
  });
  actor = new MachineActor<never>(m, undefined, new MachineSystem(), {
    onEmit: (e: { type: string }) => {
      seen.push(e.type);
      if (e.type === 'first') actor.stop();
    },
    onDone: () => seen.push('done'),
    onError: (e: unknown) => t.fail(String(e)),
  } as never);
  actor.start();
  actor.send({ type: 'go' });
  await sleep(60);
  t.deepEqual(seen, ['first', 'done']);
});

// XState's interpreter's snapshots, slimmed by MachineActor (the lean interpreter's are its own).
test('snapshots share their empty tags, history and children but keep real tags and nested states', (t) => {
  const tagged = setup({ types: { events: {} as { type: 'go' } | { type: 'back' } } }).createMachine({
    initial: 'a',
    states: {
      a: { on: { go: 'b' } },
      b: { tags: ['busy'], initial: 'inner', states: { inner: {} }, on: { back: 'a' } },
    },
  });
  const system = new MachineSystem(undefined, 'xstate');
  const hooks = { onEmit: () => {}, onDone: () => {}, onError: () => {} };
  const one = new MachineActor(tagged, undefined, system, hooks).start();
  const two = new MachineActor(tagged, undefined, system, hooks).start();
  type Snap = { tags: Set<string>; historyValue: object; children: object; _nodes: unknown[]; value: unknown; hasTag(t: string): boolean };
  const s1 = one.getSnapshot() as unknown as Snap;
  const s2 = two.getSnapshot() as unknown as Snap;
  t.is(s1.tags, s2.tags);
  t.is(s1.historyValue, s2.historyValue);
  t.is(s1.children, s2.children);
  t.is(s1._nodes, s2._nodes);
  one.send({ type: 'go' });
  const busy = one.getSnapshot() as unknown as Snap;
  t.deepEqual(busy.value, { b: 'inner' });
  t.true(busy.hasTag('busy'));
  t.false(s2.hasTag('busy'));
  one.send({ type: 'back' });
  t.is(one.getSnapshot().value, 'a');
  t.is((one.getSnapshot() as unknown as Snap)._nodes, s2._nodes);
  t.false((one.getSnapshot() as unknown as Snap).hasTag('busy'));
});
