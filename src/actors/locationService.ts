import { DeadlineQueue } from '../util/deadlineQueue.js';
import { ownString } from '../util/ownString.js';
import { BindingSet } from './bindingSet.js';
import { bindingUriKey, contactKeyOfText, type Binding, type ContactUpdate, type RegistrationPlan } from '../proxy/registrar.js';

/** Binding facts for the journal (issue "Event-sourced journal"). */
export type BindingEventName = 'binding.added' | 'binding.refreshed' | 'binding.removed' | 'binding.expired';
export interface BindingEvent {
  name: BindingEventName;
  at: number;
  aor: string;
  /** The location key the AOR is stored under (its user part). */
  user: string;
  contact: string;
  /** The binding's comparison key (src/proxy/registrar.ts contactKey). */
  key: string;
  expiresAt: number;
  callId: string;
  cseq: number;
  q: number;
  source: string;
  /** The binding's `+sip.instance` and `reg-id`, when it has them (RFC 5626 §6). */
  instance: string | undefined;
  regId: number | undefined;
  /** binding.removed: 'replaced' when a binding of the same instance took its place. */
  reason: 'replaced' | undefined;
}

export type ApplyResult = { ok: true; bindings: Binding[] } | { ok: false; status: number; reason: string };

interface AorEntry {
  user: string;
  aor: string;
  bindings: BindingSet;
}

/**
 * AORs remembered with no binding (for 480 rather than 404): the oldest are forgotten beyond this,
 * so a flood of REGISTERs under new names cannot grow the table for ever.
 */
export const MAX_IDLE_AORS = 100_000;

/**
 * Bindings one AOR may have (Kamailio's max_contacts, answered the way its registrar does): each is
 * a branch of every INVITE to the AOR, so their number must not be a sender's choice.
 */
export const MAX_BINDINGS_PER_AOR = 32;

/**
 * The location service (RFC 3261 §10.3, §16.5): bindings per address-of-record, keyed by user
 * (one domain, as Kamailio's use_domain=0), each expiring at its deadline. An AOR stays known after
 * its last binding goes, so a call to it is 480 (known, unreachable), not 404 (unknown); at most
 * MAX_IDLE_AORS such AORs are remembered. A REGISTER that binds nothing creates no AOR.
 */
export class LocationService {
  private readonly aors = new Map<string, AorEntry>();
  /** The AORs with no binding, oldest first (Map order: a re-idled AOR moves to the end). */
  private readonly idle = new Map<string, AorEntry>();
  private readonly expiry: DeadlineQueue<{ user: string; key: string }>;
  private count = 0;

  constructor(private readonly onEvent: (e: BindingEvent) => void = () => {}, private readonly now: () => number = Date.now) {
    this.expiry = new DeadlineQueue((item, at) => this.expire(item.user, item.key, at), now);
  }

  get bindingCount(): number {
    return this.count;
  }

  /**
   * Applies a checked REGISTER (§10.3 step 7): a binding with the same Call-ID and a CSeq not
   * higher than the stored one aborts the whole request; otherwise every change is made. Each
   * Contact names the binding `matchIn` finds; one of an instance whose Contact URI changed
   * replaces the old binding (RFC 5626 §6), journaled as the old one removed ('replaced') and the
   * new one added, so that a reader keyed by Contact URI folds the same table.
   */
  apply(plan: Extract<RegistrationPlan, { ok: true }>, ident: { callId: string; cseq: number; source: string }): ApplyResult {
    const now = this.now();
    let entry = this.aors.get(plan.user);
    // More Contacts than an AOR may hold, twice over, cannot fit whatever they remove: refused
    // before the plan is worked out (each Contact is matched against the rest).
    if (plan.updates.length > 2 * MAX_BINDINGS_PER_AOR) return { ok: false, status: 503, reason: 'Too many registered contacts' };
    const after = afterPlan(entry?.bindings.list() ?? [], plan);
    for (const b of after.touched) {
      if (b.callId === ident.callId && ident.cseq <= b.cseq) {
        return { ok: false, status: 400, reason: 'CSeq not higher than the binding\'s' };
      }
    }
    if (after.count > MAX_BINDINGS_PER_AOR) return { ok: false, status: 503, reason: 'Too many registered contacts' };
    if (!entry) {
      // Nothing to remove and nothing added (a query, or `Contact: *` for a name never bound).
      if (!plan.updates.some((u) => u.expires > 0)) return { ok: true, bindings: [] };
      // Strings of their own: cut from the REGISTER, they would keep its whole text for as long
      // as the AOR is known (BENCHMARKS.md, finding 25).
      entry = { user: ownString(plan.user), aor: ownString(plan.aor), bindings: new BindingSet() };
      this.aors.set(entry.user, entry);
    }
    if (plan.removeAll) {
      for (const b of entry.bindings.values()) this.remove(entry, b, 'binding.removed', now);
    }
    for (const u of plan.updates) {
      const old = matchIn(entry.bindings.list(), u);
      if (u.expires === 0) {
        if (old) this.remove(entry, old, 'binding.removed', now);
        continue;
      }
      const b: Binding = {
        contact: ownString(u.contact),
        key: ownString(u.key),
        instance: u.instance === undefined ? undefined : ownString(u.instance),
        regId: u.regId,
        q: u.q,
        expiresAt: now + u.expires * 1000,
        callId: ownString(ident.callId),
        cseq: ident.cseq,
        source: ownString(ident.source),
      };
      // A new target for the same binding: the old one goes at once (no fork to a dead address).
      const replaced = old !== undefined && (old.key !== b.key || (b.instance !== undefined && old.contact !== b.contact));
      if (replaced) {
        entry.bindings.delete(old.key);
        this.emit('binding.removed', entry, old, now, 'replaced');
      } else if (!old) this.count++;
      entry.bindings.set(b);
      this.idle.delete(entry.user);
      this.expiry.add(b.expiresAt, { user: entry.user, key: b.key });
      this.emit(old && !replaced ? 'binding.refreshed' : 'binding.added', entry, b, now);
    }
    return { ok: true, bindings: this.live(entry, now) };
  }

  /** The target set for a user (§16.5): live bindings, highest q first; `known` tells 404 from 480. */
  lookup(user: string): { known: boolean; bindings: Binding[] } {
    const entry = this.aors.get(user);
    if (!entry) return { known: false, bindings: [] };
    return { known: true, bindings: this.live(entry, this.now()) };
  }

  /** Restart recovery: an AOR known from the journal, with no binding (yet). No event is emitted. */
  restoreKnown(user: string, aor: string): AorEntry {
    let entry = this.aors.get(user);
    if (!entry) {
      entry = { user, aor, bindings: new BindingSet() };
      this.aors.set(user, entry);
      this.markIdle(entry);
    }
    return entry;
  }

  /** Restores a binding from the journal (restart recovery): no event is emitted. */
  restore(user: string, aor: string, b: Binding): void {
    const entry = this.restoreKnown(user, aor);
    if (!entry.bindings.has(b.key)) this.count++;
    entry.bindings.set(b);
    this.idle.delete(user);
    this.expiry.add(b.expiresAt, { user, key: b.key });
  }

  /**
   * A change another worker made (src/cluster): applied to this copy without an event, so that
   * it is journaled once, by the primary. Expiry still runs here, also without an event unless
   * this copy's owner journals expiries (the primary's does).
   */
  replicate(e: BindingEvent): void {
    if (e.name === 'binding.added' || e.name === 'binding.refreshed') {
      this.restore(e.user, e.aor, { contact: e.contact, key: e.key, instance: e.instance, regId: e.regId, q: e.q, expiresAt: e.expiresAt, callId: e.callId, cseq: e.cseq, source: e.source });
      return;
    }
    const entry = this.aors.get(e.user);
    if (entry?.bindings.delete(e.key)) {
      this.count--;
      if (entry.bindings.size === 0) this.markIdle(entry);
    }
  }

  /** Every known AOR with its bindings (a new worker's copy starts from this). */
  snapshot(): Array<{ user: string; aor: string; bindings: Binding[] }> {
    return [...this.aors.values()].map((a) => ({ user: a.user, aor: a.aor, bindings: a.bindings.values() }));
  }

  /** Takes in another copy's snapshot(), without events (a new worker's copy). */
  restoreSnapshot(aors: ReturnType<LocationService['snapshot']>): void {
    for (const a of aors) {
      this.restoreKnown(a.user, a.aor);
      for (const b of a.bindings) this.restore(a.user, a.aor, b);
    }
  }

  close(): void {
    this.expiry.clear();
  }

  private live(entry: AorEntry, now: number): Binding[] {
    return entry.bindings.values().filter((b) => b.expiresAt > now).sort((a, b) => b.q - a.q);
  }

  private expire(user: string, key: string, at: number): void {
    const entry = this.aors.get(user);
    const b = entry?.bindings.get(key);
    // A refresh moved the deadline: this queue entry is stale.
    if (!entry || !b || b.expiresAt !== at) return;
    this.remove(entry, b, 'binding.expired', at);
  }

  private remove(entry: AorEntry, b: Binding, name: BindingEventName, now: number): void {
    entry.bindings.delete(b.key);
    this.count--;
    if (entry.bindings.size === 0) this.markIdle(entry);
    this.emit(name, entry, b, now);
  }

  /** The AOR has no binding left: remembered (at the end of the idle order), the oldest forgotten past MAX_IDLE_AORS. */
  private markIdle(entry: AorEntry): void {
    this.idle.delete(entry.user);
    this.idle.set(entry.user, entry);
    if (this.idle.size > MAX_IDLE_AORS) {
      const oldest = this.idle.keys().next().value as string;
      this.idle.delete(oldest);
      this.aors.delete(oldest);
    }
  }

  private emit(name: BindingEventName, entry: AorEntry, b: Binding, at: number, reason?: 'replaced'): void {
    this.onEvent({
      name, at, aor: entry.aor, user: entry.user, contact: b.contact, key: b.key, expiresAt: b.expiresAt, callId: b.callId, cseq: b.cseq, q: b.q, source: b.source,
      instance: b.instance, regId: b.regId, reason,
    });
  }
}

type Slot = Pick<Binding, 'key' | 'contact' | 'instance'>;

/**
 * The binding a Contact of a REGISTER names: the one with its key (its instance and reg-id,
 * RFC 5626 §6, or its Contact URI, §10.3); failing that, the one at the same Contact URI with an
 * instance on one side only (a phone that began or stopped sending `+sip.instance`, or a binding
 * journaled before instances were read; Kamailio's usrloc falls back to the Contact URI too).
 * Two bindings of one instance with different reg-ids may share a Contact URI (RFC 5626 §3.3):
 * they never match each other this way.
 */
export function matchIn<T extends Slot>(bindings: readonly T[], u: Pick<ContactUpdate, 'key' | 'contact' | 'instance'>): T | undefined {
  for (const b of bindings) if (b.key === u.key) return b;
  let uriKey: string | undefined;
  for (const b of bindings) {
    if ((b.instance === undefined) === (u.instance === undefined)) continue;
    uriKey ??= u.instance === undefined ? u.key : contactKeyOfText(u.contact);
    if (bindingUriKey(b) === uriKey) return b;
  }
  return undefined;
}

/**
 * What `plan` would do to an AOR with bindings `current`, before anything changes (§10.3 step 7
 * checks every binding it touches first): the bindings it names, and how many the AOR would have.
 */
function afterPlan(current: readonly Binding[], plan: Extract<RegistrationPlan, { ok: true }>): { touched: Binding[]; count: number } {
  if (plan.removeAll) return { touched: current.slice(), count: 0 };
  let set: readonly Slot[] = current;
  const touched: Binding[] = [];
  for (const u of plan.updates) {
    const old = matchIn(set, u);
    if (old) {
      set = set.filter((b) => b !== old);
      if (current.includes(old as Binding)) touched.push(old as Binding);
    }
    if (u.expires > 0) set = set.concat([u]);
  }
  return { touched, count: set.length };
}
