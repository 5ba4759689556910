import { DeadlineQueue } from '../util/deadlineQueue.js';

/** Addresses remembered per user, the oldest forgotten first: a desk phone, a softphone, a NAT. */
export const SOURCES_PER_USER = 32;

/**
 * Where each user has lately authenticated from: the source address of the datagram (not its
 * port, which a NAT may change). The per-user lock of `SourceGuard` does not apply there, so
 * guessing spread over many addresses locks a user out of every other address but not out of
 * its own phone's. That tells a guesser nothing: one at another address is still refused, and one
 * forging the phone's address over UDP never sees the answers. A success refreshes its pair
 * only once less than half of `ttlMs` is left (a cluster worker passes each refresh on to the
 * primary, src/cluster/workerGuard.ts), so a pair lasts from `ttlMs / 2` to `ttlMs` after the
 * user's last success. Bounded: at most SOURCES_PER_USER addresses for each user who
 * authenticated, that is each name of the users file; only right credentials add one.
 */
export class AuthenticatedSources {
  /** user -> source -> until, each user's sources oldest first. */
  private readonly byUser = new Map<string, Map<string, number>>();
  /** One sweep per user with sources: their expired pairs go when it fires. */
  private readonly sweeps: DeadlineQueue<string>;

  constructor(private readonly ttlMs: number, private readonly now: () => number = Date.now) {
    this.sweeps = new DeadlineQueue((user) => this.sweep(user), now);
  }

  /** A success of `user` from `source`: true when that is news (a new pair, or one refreshed). */
  remember(user: string, source: string): boolean {
    const until = this.now() + this.ttlMs;
    return this.keep(user, source, until, until - this.ttlMs / 2);
  }

  /** Keeps the pair at least until `until` (decided elsewhere: the cluster's primary). */
  restore(user: string, source: string, until: number): void {
    this.keep(user, source, until, until);
  }

  has(user: string, source: string): boolean {
    const until = this.byUser.get(user)?.get(source);
    return until !== undefined && until > this.now();
  }

  /** The addresses `user` has lately authenticated from. */
  sourcesOf(user: string): string[] {
    const now = this.now();
    return [...(this.byUser.get(user) ?? [])].filter(([, until]) => until > now).map(([source]) => source);
  }

  /** Pairs held (expired ones until their sweep). */
  get size(): number {
    let n = 0;
    for (const sources of this.byUser.values()) n += sources.size;
    return n;
  }

  clear(): void {
    this.sweeps.clear();
    this.byUser.clear();
  }

  private keep(user: string, source: string, until: number, refreshBelow: number): boolean {
    let sources = this.byUser.get(user);
    const held = sources?.get(source);
    if (held !== undefined && held >= refreshBelow) return false;
    if (!sources) {
      sources = new Map();
      this.byUser.set(user, sources);
      this.sweeps.add(until, user);
    }
    sources.delete(source);
    sources.set(source, until);
    if (sources.size > SOURCES_PER_USER) sources.delete(sources.keys().next().value!);
    return true;
  }

  private sweep(user: string): void {
    const sources = this.byUser.get(user);
    if (!sources) return;
    const now = this.now();
    let next = Infinity;
    for (const [source, until] of sources) {
      if (until <= now) sources.delete(source);
      else next = Math.min(next, until);
    }
    if (sources.size === 0) this.byUser.delete(user);
    else this.sweeps.add(next, user);
  }
}
