import type { AnyStateMachine, InspectionEvent, Observer } from 'xstate';
import { DelayLanes, type DelayedEvent, type DelayOwner } from './delayLanes.js';
import { DEFAULT_ENGINE, LeanSnapshot, leanOf, type MachineEngine } from './leanInterpreter.js';

/** What a MachineActor tells its owner. */
export interface MachineActorHooks<TEmitted> {
  /** Each event the machine emits (`emit(...)`), after the transition that emitted it. */
  onEmit: (e: TEmitted) => void;
  /** The machine reached a top-level final state, or was stopped. Called once. */
  onDone: () => void;
  /** The machine (or an emit handler) threw: the actor is stopped; onDone follows. */
  onError: (err: unknown, machineId: string) => void;
}

/** An actor's session id as XState shows it (inspection, logs): `m:` and its serial number. */
function sessionIdOf(serial: number): string {
  return `m:${serial}`;
}

/** Runs an action XState hands over. XState also calls it detached, so it reads no `this`. */
function executeAction(a: { exec?: (info: unknown, params: unknown) => void; info: unknown; params: unknown }): void {
  a.exec?.(a.info, a.params);
}

/**
 * The delayed-event scheduler XState's built-in actions talk to (`after`, delayed `raise`,
 * `cancel`). This and the two classes below keep their code on the prototype, not in closures made
 * per MachineSystem: the warm-up's supervisor has a system of its own, and XState's call sites
 * (`executeCancel`, `executeEmit`, delayed `raise`) compiled against the warm-up's closures were
 * thrown away at the real supervisor's first message ("wrong call target", finding 41).
 */
class DelayScheduler {
  constructor(private readonly owner: MachineSystem) {}

  schedule(source: MachineActor<never>, target: MachineActor<never>, event: { type: string }, delay: number, id?: string): void {
    source.schedule(id ?? `delayed-${this.owner.nextSessionNumber()}`, delay, target, event);
  }

  cancel(source: MachineActor<never>, id: string): void {
    source.cancelScheduled(id);
  }

  cancelAll(source: MachineActor<never>): void {
    source.cancelAllScheduled();
  }
}

/** The `system` XState's built-in actions talk to (scheduler, relay, inspection). */
class XStateSystem {
  readonly scheduler: DelayScheduler;

  constructor(private readonly owner: MachineSystem) {
    this.scheduler = new DelayScheduler(owner);
  }

  _relay(_source: unknown, target: MachineActor<never>, event: { type: string }): void {
    target.send(event);
  }

  _sendInspectionEvent(e: InspectionEvent): void {
    this.owner.inspectEvent(e);
  }

  _bookId(): string {
    return this.owner.nextSessionId();
  }

  _register(): void {}
  _unregister(): void {}
  _set(): void {}
  get(): undefined {
    return undefined;
  }
}

/**
 * The actor scope XState's interpreter and built-in actions are given, one for all actors of a
 * system: `self` is set to the actor whose transition or effect runs (effects read it when they
 * run, so it is set again before each). Per-actor closures would be kept alive for the 32 s every
 * transaction lingers.
 */
class ActorScope {
  self: MachineActor<never> = null as unknown as MachineActor<never>;
  readonly logger = console.log;
  // A field, not a method: XState swaps it for a recording wrapper during a microstep and calls
  // the one it saved detached.
  actionExecutor = executeAction;

  constructor(readonly system: XStateSystem) {}

  // Read by XState only for inspection, errors and spawning (none on a message's path): made when read.
  get id(): string {
    return this.self.id;
  }

  get sessionId(): string {
    return this.self.sessionId;
  }

  // Built-in actions only queue their effect with `defer`; it runs once the transition is done.
  defer(fn: () => void): void {
    (this.self.deferred ??= []).push(fn);
  }

  emit(e: unknown): void {
    this.self.hooks.onEmit(e as never);
  }

  stopChild(): void {}
}

/** What delayed events and inspection need, shared by the actors of one supervisor. */
export class MachineSystem {
  private ids = 0;
  /** Every delayed event of these actors (their transaction timers). */
  readonly delays = new DelayLanes();
  private readonly inspect: ((e: InspectionEvent) => void) | null;

  /**
   * `engine`: who interprets the machine definitions: XState's own interpreter (the default), or
   * the lean one (src/actors/leanInterpreter.ts, `--engine lean`).
   */
  constructor(inspect?: Observer<InspectionEvent> | ((e: InspectionEvent) => void), readonly engine: MachineEngine = DEFAULT_ENGINE) {
    this.inspect = typeof inspect === 'function' ? inspect : inspect ? (e) => inspect.next?.(e) : null;
  }

  /** The `system` XState's built-in actions talk to (scheduler, relay, inspection). */
  readonly xstateSystem = new XStateSystem(this);

  /** The scope XState's interpreter and built-in actions are given, pointed at the running actor. */
  readonly scope = new ActorScope(this.xstateSystem);

  /** An inspection event to the Stately inspector, when one is attached. */
  inspectEvent(e: InspectionEvent): void {
    this.inspect?.(e);
  }

  /** Points the shared scope at `actor` (before its transition, and before each of its effects). */
  enter(actor: MachineActor<never>): object {
    const sc = this.scope;
    sc.self = actor;
    return sc;
  }

  /** What runs `machine` under this system's engine: the machine itself, or its lean logic. */
  logicOf(machine: AnyStateMachine): AnyStateMachine {
    return this.engine === 'lean' ? leanOf(machine) : machine;
  }

  get inspecting(): boolean {
    return this.inspect !== null;
  }

  nextSessionId(): string {
    return sessionIdOf(this.nextSessionNumber());
  }

  nextSessionNumber(): number {
    return ++this.ids;
  }
}

/**
 * A lean actor for one XState v5 machine: XState's own interpreter (`machine.getInitialSnapshot`,
 * `machine.transition`, its built-in actions) computes every state change; this shell only does
 * what xstate's `createActor` adds around it, for the few features our machines use: a mailbox,
 * the deferred effects (emit, delayed raise, cancel), timers for delayed events, the end at a final
 * state, and inspection events for the Stately inspector.
 *
 * Why not `createActor`: measured on this machine (xstate 5.33), an INVITE server transaction
 * created and taken through 180 and 200 costs 51 µs and holds 5.1 KB with `createActor` (every
 * root actor builds its own ActorSystem: a scheduler, maps and some twenty closures), and 24 µs
 * and 1.5 KB here. A proxy keeps each transaction 32 s after it ends (64*T1, RFC 3261 §17 and
 * RFC 6026), so that weight is paid tens of thousands of times over (see BENCHMARKS.md).
 */
export class MachineActor<TEmitted> implements DelayOwner {
  /** The number in its session id (`m:N`): the id itself is made when read (see `sessionId`). */
  private readonly serial: number;
  /** For the inspector, which shows `logic.config` as the machine's definition. */
  readonly logic: AnyStateMachine;
  private snapshot: Snapshot | null = null;
  /** Effects queued by the running transition (the shared scope's `defer` adds to the actor it points at). */
  deferred: Array<() => void> | null = null;
  /** Events that arrived while this actor was busy (rare: most actors never need one). */
  private mailbox: Array<{ type: string }> | null = null;
  private processing = false;
  private ended = false;
  /** Pending delayed events: one (a lingering transaction's only timer) or a few. */
  private timers: DelayedEvent | DelayedEvent[] | null = null;

  constructor(machine: AnyStateMachine, private input: unknown, private readonly system: MachineSystem, readonly hooks: MachineActorHooks<TEmitted>) {
    this.logic = system.logicOf(machine);
    this.serial = system.nextSessionNumber();
  }

  // Made when read (inspection, logs), not kept: a string per actor for the 32 s every
  // transaction lingers was 4 strings a call for V8's mark-compact to visit (finding 40).
  get sessionId(): string {
    return sessionIdOf(this.serial);
  }

  // XState's ActorRef has an id beside the session id, and a parent (none: these are root actors).
  // Getters, not fields: every lingering transaction would carry two more slots for 32 s.
  get id(): string {
    return this.sessionId;
  }

  get _parent(): undefined {
    return undefined;
  }

  /** Enters the initial state and runs its entry effects (the first transmission, the first timers). */
  start(): this {
    if (this.snapshot || this.ended) return this;
    const init = { type: 'xstate.init', input: this.input };
    this.processing = true;
    const outer = this.system.scope.self;
    try {
      this.snapshot = slim(this.logic.getInitialSnapshot(this.system.enter(this as never) as never, this.input));
      // The machine copied what it needs into its context: the input (a whole request) may go.
      this.input = undefined;
      if (this.system.inspecting) {
        this.system.xstateSystem._sendInspectionEvent({ type: '@xstate.actor', actorRef: this as never, rootId: this.sessionId } as InspectionEvent);
      }
      this.settle(init);
    } catch (err) {
      this.fail(err);
    }
    this.system.scope.self = outer;
    this.drain();
    return this;
  }

  getSnapshot(): { status: string; value: unknown; context: unknown } {
    return this.snapshot ?? { status: 'active', value: undefined, context: undefined };
  }

  /** An event in; handled at once unless this actor is busy with another (then queued, in order). */
  send(event: { type: string; [k: string]: unknown }): void {
    if (this.ended) return;
    if (this.processing || !this.snapshot) {
      (this.mailbox ??= []).push(event);
      return;
    }
    this.processing = true;
    this.handle(event);
    this.drain();
  }

  /** Ends the actor without reaching a final state (shutdown): timers cancelled, onDone. */
  stop(): void {
    if (this.ended) return;
    this.end();
  }

  // ---- the scheduler's side: delayed events of this actor ----

  schedule(id: string, delay: number, target: MachineActor<never>, event: { type: string }): void {
    if (this.ended) return;
    this.cancelScheduled(id);
    const e = this.system.delays.schedule(delay, this, id, target, event);
    const t = this.timers;
    if (t === null) this.timers = e;
    else if (Array.isArray(t)) t.push(e);
    else this.timers = [t, e];
  }

  cancelScheduled(id: string): void {
    const e = this.takeTimer(id);
    if (e) this.system.delays.cancel(e);
  }

  cancelAllScheduled(): void {
    const t = this.timers;
    if (t === null) return;
    this.timers = null;
    if (Array.isArray(t)) for (const e of t) this.system.delays.cancel(e);
    else this.system.delays.cancel(t);
  }

  /** A delayed event of this actor fell due (see delayLanes.ts). */
  fireDelayed(id: string, target: unknown, event: { type: string }): void {
    // The lane has let go of it already: only this actor's list still holds it.
    this.takeTimer(id);
    (target as MachineActor<never>).send(event);
  }

  /** Removes the pending delayed event `id` from this actor's list and returns it. */
  private takeTimer(id: string): DelayedEvent | null {
    const t = this.timers;
    if (t === null) return null;
    if (!Array.isArray(t)) {
      if (t.id !== id) return null;
      this.timers = null;
      return t;
    }
    const i = t.findIndex((x) => x.id === id);
    if (i < 0) return null;
    const e = t[i]!;
    t.splice(i, 1);
    if (t.length === 1) this.timers = t[0]!;
    return e;
  }

  // ---- processing ----

  /** Handles what queued up while busy, in order; `processing` is set by the caller. */
  private drain(): void {
    let event: { type: string } | undefined;
    while (!this.ended && this.mailbox !== null && (event = this.mailbox.shift()) !== undefined) this.handle(event);
    this.processing = false;
  }

  private handle(event: { type: string }): void {
    // This may run inside another actor's transition (an action that sends here): the shared
    // scope is pointed back at that actor afterwards.
    const outer = this.system.scope.self;
    try {
      if (this.system.inspecting) {
        this.system.xstateSystem._sendInspectionEvent({ type: '@xstate.event', actorRef: this as never, event, rootId: this.sessionId } as never);
      }
      this.snapshot = slim(this.logic.transition(this.snapshot!, event, this.system.enter(this as never) as never));
      this.settle(event);
    } catch (err) {
      this.fail(err);
    }
    this.system.scope.self = outer;
  }

  /** After a transition: the deferred effects in order, then the end if the machine is final. */
  private settle(event: { type: string }): void {
    // XState reports a throwing action, guard or context factory as an error snapshot: none of
    // the transition's effects run, as with createActor.
    if (this.snapshot!.status === 'error') throw (this.snapshot as { error?: unknown }).error;
    const effects = this.deferred;
    if (effects) {
      this.deferred = null;
      // An effect may run another actor's transition (an emit handler sends to it): point the
      // shared scope back at this actor before each of its own. An effect may also end this actor.
      for (const fn of effects) {
        if (this.ended) return;
        this.system.enter(this as never);
        fn();
      }
    }
    if (this.system.inspecting) {
      this.system.xstateSystem._sendInspectionEvent({ type: '@xstate.snapshot', actorRef: this as never, event, snapshot: this.snapshot!, rootId: this.sessionId } as never);
    }
    if (this.snapshot!.status !== 'active') this.end();
  }

  private fail(err: unknown): void {
    this.deferred = null;
    if (this.ended) return;
    this.hooks.onError(err, this.logic.id);
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.mailbox = null;
    this.cancelAllScheduled();
    this.hooks.onDone();
  }
}

type Snapshot = ReturnType<AnyStateMachine['getInitialSnapshot']>;

/**
 * Shared stand-ins for a snapshot's empty tag set, history and children. XState builds a new Set
 * of tags for every snapshot and a `{}` for history and children per actor; it only reads them
 * and copies before it changes them. Our machines use no tags, history states or children, and
 * each transaction keeps its last snapshot for the 32 s it lingers: sharing the empty ones (and
 * the list of active state nodes of a flat state) saves about 300 bytes of heap per transaction
 * (measured with bench/hotpath.ts).
 */
const NO_TAGS: ReadonlySet<string> = new Set();
const NO_HISTORY = Object.freeze({});
const NO_CHILDREN = Object.freeze({});

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

/** One `_nodes` array per machine and flat state value: XState reads it, never changes it. */
const nodesOfState = new WeakMap<object, Map<string, unknown[]>>();

function slim(s: Snapshot): Snapshot {
  // The lean interpreter's snapshots carry none of these.
  if (s instanceof LeanSnapshot) return s;
  const m = s as unknown as { tags: ReadonlySet<string>; historyValue: object; children: object; _nodes: unknown[]; value: unknown; machine: object };
  if (typeof m.value === 'string') {
    let byValue = nodesOfState.get(m.machine);
    if (!byValue) nodesOfState.set(m.machine, (byValue = new Map()));
    const shared = byValue.get(m.value);
    if (shared === undefined) byValue.set(m.value, m._nodes);
    else m._nodes = shared;
  }
  if (m.tags !== NO_TAGS && m.tags.size === 0) m.tags = NO_TAGS;
  if (m.historyValue !== NO_HISTORY && isEmpty(m.historyValue)) m.historyValue = NO_HISTORY;
  if (m.children !== NO_CHILDREN && isEmpty(m.children)) m.children = NO_CHILDREN;
  return s;
}
