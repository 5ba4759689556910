import type { AnyStateMachine } from 'xstate';

/**
 * Who runs the machine definitions: XState's own interpreter (`machine.transition`), or this
 * file's lean one (`--engine lean`).
 */
export type MachineEngine = 'xstate' | 'lean';

/** The default: XState's interpreter, as the design names it (`--engine` changes it per run). */
export const DEFAULT_ENGINE: MachineEngine = 'xstate';

/**
 * A lean interpreter for XState v5 machine definitions: the same `setup(...).createMachine(...)`
 * objects, their state nodes as XState built them, their guards, delays and built-in actions,
 * run with the few rules our machines need instead of XState's general algorithm (SCXML's, which
 * builds sets of state nodes, sorts them and copies the snapshot for every microstep: two thirds
 * of the bytes a proxied call allocates, BENCHMARKS.md finding 26).
 *
 * The subset: atomic, compound and final states (no parallel or history states), one target per
 * transition, `reenter`, `after`, `always`, and the actions assign, emit, raise (delayed or not),
 * cancel, enqueueActions and plain functions. A machine with anything else is refused when it is
 * first compiled. The order is XState's: exit innermost first, the transition's actions, entry
 * outermost first down to the target's initial states; the first enabled transition from the
 * active state outwards wins; eventless transitions, then raised events, after each microstep; a
 * top-level final state runs every active state's exit actions and ends the machine. A unit test
 * runs every machine of the proxy through random event sequences under both interpreters and
 * compares what they emit, schedule and keep (test/unit/leanInterpreter.test.ts).
 */

// XState's state nodes and action objects, as its interpreter reads them (not in its public types).
type StateNode = any;
type Action = any;

/** What the actor keeps between events: the state, its context, and the active state node. */
export class LeanSnapshot {
  // Private: the state node links to the whole machine, which logs and inspection must not walk.
  readonly #leaf: StateNode;

  constructor(
    readonly status: 'active' | 'done' | 'error',
    readonly value: unknown,
    readonly context: any,
    leaf: StateNode,
    readonly error?: unknown,
  ) {
    this.#leaf = leaf;
  }

  /** The active atomic (or final) state node. */
  get leaf(): StateNode {
    return this.#leaf;
  }

  /** What the inspector reads of a snapshot, with the fields XState's have and these lack. */
  toJSON(): object {
    return { status: this.status, value: this.value, context: this.context, children: {}, tags: [], historyValue: {}, error: this.error };
  }
}

interface Scope {
  self: any;
  system: any;
  defer: (fn: () => void) => void;
  emit: (e: unknown) => void;
}

const ENQUEUED = Symbol('enqueued');

interface Compiled {
  /** Root first, the node last. */
  path: StateNode[];
  value: unknown;
  /** The node's initial descent, itself included, when entered by default. */
  defaultEntry: StateNode[];
}

export function leanLogic(machine: AnyStateMachine) {
  const impl = (machine as any).implementations;
  const compiled = new Map<StateNode, Compiled>();

  const refuse = (what: string): never => {
    throw new Error(`leanLogic: ${what} not supported (machine ${machine.id})`);
  };
  /** An action's implementation: inline, or named in `setup` (undefined: XState skips it too). */
  const actionFn = (action: Action): any =>
    typeof action === 'function' || (action && action[ENQUEUED]) ? action : impl.actions[typeof action === 'string' ? action : action.type];
  /** A guard's implementation: inline, or named in `setup`. */
  const guardFn = (guard: any): any => (typeof guard === 'function' ? guard : impl.guards[typeof guard === 'string' ? guard : guard.type]);
  /** Plain functions are run as given; XState's built-in guards (and, or, not) are not in the subset. */
  const runnableGuard = (fn: any): boolean => typeof fn === 'function' && !('check' in fn);

  const SUPPORTED_ACTIONS = new Set(['xstate.assign', 'xstate.emit', 'xstate.raise', 'xstate.cancel', 'xstate.enqueueActions']);
  /** An action the interpreter can run: a plain function, or one of the built-ins above. */
  const checkAction = (action: Action, where: string): void => {
    const fn = actionFn(action);
    if (fn === undefined) return;
    if (typeof fn.type === 'string' && fn.type.startsWith('xstate.') && !SUPPORTED_ACTIONS.has(fn.type)) refuse(`action ${fn.type} in ${where}`);
  };
  const checkGuard = (guard: unknown, where: string): void => {
    if (guard !== undefined && !runnableGuard(guardFn(guard))) refuse(`guard ${String((guard as { type?: string }).type ?? guard)} in ${where}`);
  };
  const checkTransition = (t: any, where: string): void => {
    if (t.target && t.target.length > 1) refuse(`a transition with several targets in ${where}`);
    // XState enters the root again without leaving it: a case of its own, which no machine here needs.
    if (t.target?.[0] && !t.target[0].parent) refuse(`a transition to the root in ${where}`);
    checkGuard(t.guard, where);
    for (const a of t.actions) checkAction(a, where);
  };
  /** The whole definition, once: a machine outside the subset is refused before it runs. */
  const check = (node: StateNode): void => {
    const where = `state ${node.id}`;
    if (node.type === 'parallel' || node.type === 'history') refuse(`${node.type} ${where}`);
    if (node.type === 'final' && node.parent && node.parent.parent) refuse(`nested final ${where}`);
    if (node.invoke.length > 0) refuse(`invoke in ${where}`);
    if (!node.parent && node.type === 'final') refuse(`a final root ${where}`);
    for (const [descriptor, ts] of node.transitions) {
      if (descriptor.includes('*')) refuse(`wildcard event ${descriptor} in ${where}`);
      for (const t of ts) {
        if (t.reenter && !t.source.parent) refuse(`a reentering transition on the root`);
        checkTransition(t, where);
      }
    }
    for (const t of node.always ?? []) {
      // An eventless transition without a target, or to its own state, is outside the subset this
      // interpreter serves: no machine of ours needs one, and with an assign it would loop in XState too.
      if (!t.target || t.target.length === 0 || (t.target[0] === t.source && !t.reenter)) refuse(`an eventless transition to nowhere new in ${where}`);
      checkTransition(t, where);
    }
    for (const a of [...node.entry, ...node.exit]) checkAction(a, where);
    if (node.type === 'compound') {
      if (node.initial.actions.length > 0) refuse(`initial actions in ${where}`);
      if (node.initial.target[0].type === 'final' && !node.parent) refuse(`a final initial state in ${where}`);
    }
    for (const child of Object.values(node.states ?? {})) check(child);
  };
  check((machine as any).root);

  const info = (node: StateNode): Compiled => {
    let c = compiled.get(node);
    if (c) return c;
    const path: StateNode[] = [];
    for (let n = node; n; n = n.parent) path.unshift(n);
    let value: unknown = node.key;
    for (let i = path.length - 2; i >= 1; i--) value = { [path[i].key]: value };
    if (path.length === 1) value = {};
    // One value object per state, shared by every snapshot in it: nobody may change it.
    if (typeof value === 'object') Object.freeze(value);
    const defaultEntry = [node];
    for (let n = node; n.type === 'compound'; ) {
      n = n.initial.target[0];
      defaultEntry.push(n);
    }
    c = { path, value, defaultEntry };
    compiled.set(node, c);
    return c;
  };

  const guardPasses = (guard: any, context: any, event: any): boolean => {
    if (guard === undefined) return true;
    const fn = guardFn(guard);
    // Checked up front for the transitions; a guard given to enqueueActions' check() is seen only here.
    if (!runnableGuard(fn)) throw new Error(`leanLogic: guard ${String(guard)} not supported`);
    const params = typeof guard === 'function' || typeof guard === 'string' ? undefined : typeof guard.params === 'function' ? guard.params({ context, event }) : guard.params;
    return fn({ context, event }, params);
  };

  /** Runs `actions` in order; returns the context they leave. Effects go through `scope.defer`. */
  const run = (actions: readonly Action[], context: any, event: any, scope: Scope, queue: any[]): any => {
    for (const action of actions) {
      const fn = actionFn(action);
      if (fn === undefined) continue;
      const params =
        typeof action === 'object' && !action[ENQUEUED] ? (typeof action.params === 'function' ? action.params({ context, event }) : action.params) : undefined;
      const args = { context, event, self: scope.self, system: scope.system };
      switch (fn.type) {
        case 'xstate.assign': {
          const a = fn.assignment;
          let partial: any;
          if (typeof a === 'function') partial = a(args, params);
          else {
            partial = {};
            for (const k of Object.keys(a)) partial[k] = typeof a[k] === 'function' ? a[k](args, params) : a[k];
          }
          context = Object.assign({}, context, partial);
          break;
        }
        case 'xstate.emit': {
          const e = typeof fn.event === 'function' ? fn.event(args, params) : fn.event;
          scope.defer(() => scope.emit(e));
          break;
        }
        case 'xstate.raise': {
          const e = typeof fn.event === 'function' ? fn.event(args, params) : fn.event;
          const d = fn.delay;
          const delay = typeof d === 'string' ? (typeof impl.delays[d] === 'function' ? impl.delays[d](args, params) : impl.delays[d]) : typeof d === 'function' ? d(args, params) : d;
          if (typeof delay !== 'number') queue.push(e);
          else {
            const self = scope.self;
            const id = fn.id;
            scope.defer(() => scope.system.scheduler.schedule(self, self, e, delay, id));
          }
          break;
        }
        case 'xstate.cancel': {
          const id = typeof fn.sendId === 'function' ? fn.sendId(args, params) : fn.sendId;
          const self = scope.self;
          scope.defer(() => scope.system.scheduler.cancel(self, id));
          break;
        }
        case 'xstate.enqueueActions': {
          const queued: Action[] = [];
          const enqueue: any = (a: Action) => queued.push(a);
          enqueue.assign = (assignment: unknown) => queued.push({ [ENQUEUED]: true, type: 'xstate.assign', assignment });
          enqueue.emit = (e: unknown) => queued.push({ [ENQUEUED]: true, type: 'xstate.emit', event: e });
          enqueue.raise = (e: unknown, o?: { id?: string; delay?: unknown }) => queued.push({ [ENQUEUED]: true, type: 'xstate.raise', event: e, id: o?.id, delay: o?.delay });
          enqueue.cancel = (sendId: unknown) => queued.push({ [ENQUEUED]: true, type: 'xstate.cancel', sendId });
          fn.collect({ context, event, enqueue, check: (g: unknown) => guardPasses(g, context, event), self: scope.self, system: scope.system }, params);
          context = run(queued, context, event, scope, queue);
          break;
        }
        default:
          // Checked up front for the definition's actions; one enqueued by name is seen only here.
          if (typeof fn.type === 'string' && fn.type.startsWith('xstate.')) throw new Error(`leanLogic: action ${fn.type} not supported`);
          fn(args, params);
      }
    }
    return context;
  };

  /**
   * The first enabled transition from the leaf outwards (XState's selection): for `event`, or,
   * with `eventless`, among the `always` transitions (their guards still read the last event).
   */
  const select = (leaf: StateNode, event: any, context: any, eventless = false): any => {
    for (let n = leaf; n; n = n.parent) {
      const candidates = eventless ? n.always : n.transitions.get(event.type);
      if (!candidates) continue;
      for (const t of candidates) if (guardPasses(t.guard, context, event)) return t;
    }
    return null;
  };

  const isDescendant = (n: StateNode, of: StateNode): boolean => {
    for (let p = n.parent; p; p = p.parent) if (p === of) return true;
    return false;
  };

  /** One microstep: exit, the transition's actions, entry (XState's order). */
  const microstep = (s: LeanSnapshot, t: any, event: any, scope: Scope, queue: any[]): LeanSnapshot => {
    let context = s.context;
    if (!t.target || t.target.length === 0) {
      context = run(t.actions, context, event, scope, queue);
      return context === s.context ? s : new LeanSnapshot(s.status, s.value, context, s.leaf);
    }
    const target = t.target[0];
    const source = t.source;
    let domain: StateNode;
    if (!t.reenter && (target === source || isDescendant(target, source))) domain = source;
    else {
      // XState's least common compound ancestor: a proper ancestor of the target with the source
      // strictly below it, so a reentering transition to the source's own child leaves the source
      // and enters it again.
      domain = target.parent;
      while (domain && !isDescendant(source, domain)) domain = domain.parent;
    }
    // Exit: the active states below the domain, innermost first.
    const activePath = info(s.leaf).path;
    const depth = activePath.indexOf(domain);
    for (let i = activePath.length - 1; i > depth; i--) context = run(activePath[i].exit, context, event, scope, queue);
    context = run(t.actions, context, event, scope, queue);
    // Entry: from below the domain down to the target, then the target's default descent.
    const targetPath = info(target).path;
    for (let i = targetPath.indexOf(domain) + 1; i < targetPath.length - 1; i++) context = run(targetPath[i].entry, context, event, scope, queue);
    const descent = info(target).defaultEntry;
    // A target that is the domain (a transition to its own source, not reentering) is not entered again.
    for (let i = target === domain ? 1 : 0; i < descent.length; i++) context = run(descent[i].entry, context, event, scope, queue);
    const leaf = descent[descent.length - 1];
    // A final state is a child of the root (checked up front): the machine is done.
    if (leaf.type === 'final') {
      // Every active state's exit actions, innermost first (as XState).
      const path = info(leaf).path;
      for (let i = path.length - 1; i >= 0; i--) context = run(path[i].exit, context, event, scope, queue);
      return new LeanSnapshot('done', info(leaf).value, context, leaf);
    }
    return new LeanSnapshot('active', info(leaf).value, context, leaf);
  };

  /** After a microstep: eventless transitions, then raised events, until none is left. */
  const settle = (s: LeanSnapshot, event: any, scope: Scope, queue: any[]): LeanSnapshot => {
    // As XState's macrostep: after an eventless microstep that changed nothing (same states, same
    // context), eventless transitions are not selected again until the next raised event.
    let eventless = true;
    while (s.status === 'active') {
      const t = eventless ? select(s.leaf, event, s.context, true) : null;
      if (t) {
        const before = s;
        s = microstep(s, t, event, scope, queue);
        eventless = s.leaf !== before.leaf || s.context !== before.context || s.status !== before.status;
        continue;
      }
      const next = queue.shift();
      if (next === undefined) break;
      event = next;
      const u = select(s.leaf, event, s.context);
      if (u) s = microstep(s, u, event, scope, queue);
      eventless = true;
    }
    return s;
  };

  const root = (machine as any).root;
  return {
    id: machine.id,
    config: machine.config,
    // As XState: an action, guard or context factory that throws gives an error snapshot.
    getInitialSnapshot(scope: Scope, input: unknown): LeanSnapshot {
      try {
        return initial(scope, input);
      } catch (err) {
        return new LeanSnapshot('error', undefined, undefined, root, err);
      }
    },
    transition(s: LeanSnapshot, event: any, scope: Scope): LeanSnapshot {
      try {
        const queue: any[] = [];
        const t = select(s.leaf, event, s.context);
        const next = t ? microstep(s, t, event, scope, queue) : s;
        return settle(next, event, scope, queue);
      } catch (err) {
        return new LeanSnapshot('error', s.value, s.context, s.leaf, err);
      }
    },
  };

  function initial(scope: Scope, input: unknown): LeanSnapshot {
    const cfg = (machine as any).config.context;
    // As XState: a factory's result, else the object given, else an empty context.
    let context = typeof cfg === 'function' ? cfg({ input, self: scope.self, spawn: undefined }) : (cfg ?? {});
    const queue: any[] = [];
    const event = { type: 'xstate.init', input };
    context = run(root.entry, context, event, scope, queue);
    // The root's default descent, the root itself (entered above) left out.
    const descent = info(root).defaultEntry;
    for (let i = 1; i < descent.length; i++) context = run(descent[i].entry, context, event, scope, queue);
    const leaf = descent[descent.length - 1];
    const s = new LeanSnapshot('active', info(leaf).value, context, leaf);
    return settle(s, event, scope, queue);
  }
}

const leanCache = new WeakMap<AnyStateMachine, ReturnType<typeof leanLogic>>();
/** The lean logic of `machine`, compiled once. */
export function leanOf(machine: AnyStateMachine): AnyStateMachine {
  let l = leanCache.get(machine);
  if (!l) leanCache.set(machine, (l = leanLogic(machine)));
  return l as unknown as AnyStateMachine;
}
