import type { Binding } from '../proxy/registrar.js';

/**
 * The bindings of one address-of-record (RFC 3261 §10.3), by contact key, in the order they were
 * added. Most AORs hold one to three (a phone or two per user): an array of exactly their number
 * instead of a Map with its hash table saved about 90 bytes per single-binding AOR (BENCHMARKS.md,
 * finding 25).
 * Searching it in order costs nothing a REGISTER or a lookup does not already pay: both walk every
 * binding of the AOR (src/actors/locationService.ts, live()).
 */
export class BindingSet {
  private items: readonly Binding[] = [];

  get size(): number {
    return this.items.length;
  }

  get(key: string): Binding | undefined {
    for (const b of this.items) if (b.key === key) return b;
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Adds `b`, or replaces the binding with its key in place. */
  set(b: Binding): void {
    const i = this.items.findIndex((x) => x.key === b.key);
    // A new array of the exact size each time: growing one in place would reserve room for 16 more.
    this.items = i < 0 ? this.items.concat([b]) : this.items.map((x, j) => (j === i ? b : x));
  }

  delete(key: string): boolean {
    const n = this.items.length;
    this.items = this.items.filter((b) => b.key !== key);
    return this.items.length !== n;
  }

  keys(): string[] {
    return this.items.map((b) => b.key);
  }

  /**
   * The bindings as they are now, without a copy: the array is never changed in place (every
   * change makes a new one), so it stays as it was even if the set changes.
   */
  list(): readonly Binding[] {
    return this.items;
  }

  /** A copy: the caller may change the set while it walks it. */
  values(): Binding[] {
    return this.items.slice();
  }
}
