import { DeadlineQueue } from '../util/deadlineQueue.js';
import { SlidingWindowCounter } from './slidingWindow.js';
import { AuthenticatedSources } from './authenticatedSources.js';

export interface GuardPolicy {
  /** Requests per second a source may send (0: no limit). */
  requestsPerSecond: number;
  /** Failed authentications per minute from one source, or for one user, before a ban. */
  authFailuresPerMinute: number;
  /** How long a ban lasts. */
  banMs: number;
  /**
   * How long the address a user authenticated from stays exempt from that user's lock, counted
   * from the success, refreshed by the next success after half of it (src/security/authenticatedSources.ts).
   */
  authenticatedSourceMs?: number;
}

export const DEFAULT_GUARD_POLICY: GuardPolicy = { requestsPerSecond: 200, authFailuresPerMinute: 10, banMs: 300_000 };

/** Four hours: twice the longest registration the registrar grants by default (--max-expires 7200). */
export const DEFAULT_AUTHENTICATED_SOURCE_MS = 4 * 3600_000;

export type BanReason = 'rate' | 'auth-failures';

export interface GuardEvents {
  banned(source: string, reason: BanReason, until: number): void;
  /** `until`: the end of the ban released (a newer ban of the same source has another). */
  released(source: string, until: number): void;
  /**
   * A user locked after too many failed authentications, or the addresses exempt from a live lock
   * grown (src/cluster passes it to every worker): `sources` are those it authenticated from.
   */
  locked?(user: string, until: number, sources: string[]): void;
}

/**
 * Flood and password-guessing protection per source address (issue "Hardening"): a sliding
 * window of requests per second and of failed authentications per minute; past either limit the
 * source is banned and its datagrams are dropped before parsing until the ban runs out. A user
 * whose password is being guessed from many sources is locked the same way, everywhere but at
 * the addresses it has lately authenticated from (its own phones: AuthenticatedSources).
 */
export class SourceGuard {
  private readonly requests = new SlidingWindowCounter(1000);
  private readonly sourceFailures = new SlidingWindowCounter(60_000);
  private readonly userFailures = new SlidingWindowCounter(60_000);
  private readonly bans = new Map<string, number>();
  private readonly lockedUsers = new Map<string, number>();
  private readonly authenticated: AuthenticatedSources;
  private readonly releases: DeadlineQueue<string>;
  private readonly unlocks: DeadlineQueue<string>;
  private lastSweep = 0;
  dropped = 0;

  constructor(private readonly policy: GuardPolicy, private readonly events: GuardEvents, private readonly now: () => number = Date.now) {
    this.releases = new DeadlineQueue((source, at) => this.release(source, at), now);
    this.authenticated = new AuthenticatedSources(policy.authenticatedSourceMs ?? DEFAULT_AUTHENTICATED_SOURCE_MS, now);
    // Locks go when they end, whether or not their user is tried again (names can be anything).
    this.unlocks = new DeadlineQueue((user, at) => {
      if (this.lockedUsers.get(user) === at) this.lockedUsers.delete(user);
    }, now);
  }

  /** Whether a datagram from `source` may be read at all (a ban drops everything, cheaply). */
  admitDatagram(source: string): boolean {
    if (this.bans.size === 0 || !this.bans.has(source)) return true;
    this.dropped++;
    return false;
  }

  /** Counts a request; false (and a ban) when the source is over its rate. */
  admitRequest(source: string): boolean {
    if (this.policy.requestsPerSecond <= 0) return true;
    const now = this.now();
    this.maybeSweep(now);
    if (this.requests.hit(source, now) <= this.policy.requestsPerSecond) return true;
    this.ban(source, 'rate', now);
    this.dropped++;
    return false;
  }

  /** A failed authentication from `source` for `user`. */
  authFailed(source: string, user: string | null): void {
    const now = this.now();
    if (this.sourceFailures.hit(source, now) > this.policy.authFailuresPerMinute) this.ban(source, 'auth-failures', now);
    if (user !== null && this.userFailures.hit(user, now) > this.policy.authFailuresPerMinute * 3) {
      this.lock(user, now + this.policy.banMs);
      this.events.locked?.(user, now + this.policy.banMs, this.authenticated.sourcesOf(user));
    }
  }

  /**
   * A right password for `user` from `source`: that address stays exempt from the user's lock.
   * True when this is news (a new address, or one refreshed), which a cluster worker reports.
   */
  authSucceeded(source: string, user: string): boolean {
    if (!this.authenticated.remember(user, source)) return false;
    const until = this.lockedUsers.get(user);
    if (until !== undefined && until > this.now()) this.events.locked?.(user, until, this.authenticated.sourcesOf(user));
    return true;
  }

  /**
   * Whether `user`'s attempts from `source` are refused: the user is locked after too many failures
   * from anywhere, and `source` is not an address it has lately authenticated from.
   */
  userLocked(user: string, source: string): boolean {
    const until = this.lockedUsers.get(user);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.lockedUsers.delete(user);
      return false;
    }
    return !this.authenticated.has(user, source);
  }

  /** A lock decided elsewhere (the cluster's primary), with the addresses exempt from it: no event. */
  restoreLock(user: string, until: number, sources: readonly string[] = []): void {
    if (until <= this.now()) return;
    this.lock(user, until);
    for (const source of sources) this.authenticated.restore(user, source, until);
  }

  /** Users locked now, with the end of each lock and its exempt addresses (a new cluster worker starts from them). */
  liveLocks(): Array<{ user: string; until: number; sources: string[] }> {
    const now = this.now();
    return [...this.lockedUsers].filter(([, until]) => until > now).map(([user, until]) => ({ user, until, sources: this.authenticated.sourcesOf(user) }));
  }

  /** Restores a ban from the journal (restart): no event. */
  restoreBan(source: string, until: number): void {
    if (until <= this.now()) return;
    this.bans.set(source, until);
    this.releases.add(until, source);
  }

  get banned(): number {
    return this.bans.size;
  }

  /** Users locked now (`/status`: a test waits for a lock to reach every worker). */
  get locked(): number {
    const now = this.now();
    let n = 0;
    for (const until of this.lockedUsers.values()) if (until > now) n++;
    return n;
  }

  close(): void {
    this.releases.clear();
    this.unlocks.clear();
    this.authenticated.clear();
  }

  private lock(user: string, until: number): void {
    this.lockedUsers.set(user, until);
    this.unlocks.add(until, user);
  }

  private ban(source: string, reason: BanReason, now: number): void {
    if (this.bans.has(source)) return;
    const until = now + this.policy.banMs;
    this.bans.set(source, until);
    this.releases.add(until, source);
    this.events.banned(source, reason, until);
  }

  private release(source: string, at: number): void {
    if (this.bans.get(source) !== at) return;
    this.bans.delete(source);
    this.events.released(source, at);
  }

  private maybeSweep(now: number): void {
    if (now - this.lastSweep < 10_000) return;
    this.lastSweep = now;
    this.requests.sweep(now);
  }
}
