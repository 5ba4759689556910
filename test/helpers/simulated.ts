import { createActor, SimulatedClock, type AnyActorLogic } from 'xstate';

/** Starts a machine on XState's simulated clock and records everything it emits. */
export function run<L extends AnyActorLogic>(logic: L, input: unknown) {
  const clock = new SimulatedClock();
  const emitted: Array<{ at: number; event: any }> = [];
  // Machines that read the time (Timer C's deadline, lifecycle facts) read the simulated clock.
  const withNow = typeof input === 'object' && input !== null && !('now' in input) ? { ...input, now: () => clock.now() } : input;
  const actor = createActor(logic, { input: withNow, clock } as never);
  actor.on('*', (e: unknown) => emitted.push({ at: clock.now(), event: e }));
  actor.start();
  return {
    actor,
    clock,
    emitted,
    /** Emitted events of one type, with the simulated time they happened at. */
    of: (type: string) => emitted.filter((e) => e.event.type === type),
    /** Advances in 1 ms steps: SimulatedClock fires every due timer at the end of an increment. */
    advance: (ms: number) => {
      for (let i = 0; i < ms; i++) clock.increment(1);
    },
    status: () => (actor.getSnapshot() as { status: string }).status,
    state: () => (actor.getSnapshot() as { value: unknown }).value,
  };
}
