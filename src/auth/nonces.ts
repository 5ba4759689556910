import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Server nonces (RFC 7616 §3.3, §5.4; RFC 3261 §22.4): base64url(timestamp ‖ random ‖ HMAC).
 * The HMAC (SHA-256, keyed with a per-process secret unless one is given) proves that this server
 * issued the nonce and when, so validity and age are checked without a table of issued nonces.
 * Only nonces that have been used are remembered, with the highest nonce-count accepted, to
 * refuse replays (RFC 7616 §3.3, §5.5); that table is bounded in time (entries leave when the
 * nonce expires) and in size.
 */

const TS = 8;
const RAND = 16;
const MAC = 32;
const LEN = TS + RAND + MAC;
const B64_LEN = Math.ceil((LEN * 4) / 3);

export type NonceState = 'ok' | 'stale' | 'bad-nonce';

export interface NonceOptions {
  /** HMAC key; default 32 random bytes, so a restart invalidates old nonces (clients get stale=true). */
  secret?: Buffer;
  /** How long a nonce is good for, in ms (default 300 000). */
  ttlMs?: number;
  /** At most this many used nonces are tracked (default 10 000). */
  maxTracked?: number;
  now?: () => number;
}

export class NonceStore {
  private readonly secret: Buffer;
  readonly ttlMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;
  /** nonce -> highest nc accepted and when the nonce expires; insertion order = first use. */
  private readonly used = new Map<string, { nc: number; expiresAt: number }>();
  /**
   * Issue time of the newest nonce evicted by the size cap while still valid. An untracked nonce
   * issued at or before it may be one that was used already, so it is refused as stale: the
   * client simply retries with a fresh nonce, and a replay never slips through after eviction.
   */
  private evictedUpTo = -Infinity;
  private nextSweep = -Infinity;

  constructor(opts: NonceOptions = {}) {
    this.secret = opts.secret ?? randomBytes(32);
    this.ttlMs = opts.ttlMs ?? 300_000;
    this.maxTracked = opts.maxTracked ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  private mac(head: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(head).digest();
  }

  issue(): string {
    const head = Buffer.alloc(TS + RAND);
    head.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.now()))), 0);
    randomBytes(RAND).copy(head, TS);
    return Buffer.concat([head, this.mac(head)]).toString('base64url');
  }

  /** When the nonce was issued, or null when this server did not issue it (forged or garbled). */
  private issuedAt(nonce: string): number | null {
    if (nonce.length !== B64_LEN || !/^[A-Za-z0-9_-]+$/.test(nonce)) return null;
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== LEN) return null;
    const head = raw.subarray(0, TS + RAND);
    if (!timingSafeEqual(raw.subarray(TS + RAND), this.mac(head))) return null;
    return Number(head.readBigUInt64BE(0));
  }

  /** Is the nonce ours and still fresh? (Does not look at nc.) */
  check(nonce: string): NonceState {
    const t = this.issuedAt(nonce);
    if (t === null) return 'bad-nonce';
    const age = this.now() - t;
    if (age > this.ttlMs || age < -this.ttlMs) return 'stale';
    if (t <= this.evictedUpTo && !this.used.has(nonce)) return 'stale';
    return 'ok';
  }

  /**
   * Records nonce-count `nc` for a valid nonce whose response was verified. False when nc is not
   * higher than the last accepted one: a replay (RFC 7616 §3.4 nc, §5.5). Call only after the
   * response matched, so forged requests cannot use up a client's nonce.
   */
  accept(nonce: string, nc: number): boolean {
    this.prune();
    const prev = this.used.get(nonce);
    if (prev) {
      if (nc <= prev.nc) return false;
      prev.nc = nc;
      return true;
    }
    const t = this.issuedAt(nonce);
    if (t === null) return false;
    this.used.set(nonce, { nc, expiresAt: t + this.ttlMs });
    while (this.used.size > this.maxTracked) {
      const [oldest, e] = this.used.entries().next().value as [string, { nc: number; expiresAt: number }];
      this.used.delete(oldest);
      this.evictedUpTo = Math.max(this.evictedUpTo, e.expiresAt - this.ttlMs);
    }
    return true;
  }

  /** Drops expired entries: a full scan, at most once a second (the table is capped, so it is cheap). */
  private prune(): void {
    const now = this.now();
    if (now < this.nextSweep) return;
    this.nextSweep = now + 1000;
    for (const [n, e] of this.used) if (e.expiresAt < now) this.used.delete(n);
  }

  /** Number of tracked nonces (for tests and status). */
  get tracked(): number {
    return this.used.size;
  }
}

/** nc-value = 8LHEX (RFC 7616 §3.4); returns the count, or null when malformed or zero. */
export function parseNonceCount(nc: string): number | null {
  if (!/^[0-9a-fA-F]{8}$/.test(nc)) return null;
  const n = parseInt(nc, 16);
  return n > 0 ? n : null;
}
