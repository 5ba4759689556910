/** How many Maps a ShardedMap spreads its entries over (a power of two). */
export const SHARDS = 64;

/** Where a key's characters start to differ from one entry to the next: after the magic cookie. */
const FROM = 7;
/** How many characters pick the shard: enough to cover a branch's random or per-call part. */
const SPAN = 12;

/**
 * A string-keyed Map split over SHARDS Maps by a hash of a few of the key's characters. A
 * JavaScript Map rehashes all its entries in one turn when it grows or fills up with deleted
 * entries: 2.1 ms at 64,000 entries, about what each of the supervisor's transaction tables
 * holds at 1,000 calls/s while transactions linger 64×T1 (BENCHMARKS.md finding 42). Split,
 * each rehash moves one shard's entries. The keys it is made for (transaction keys, RFC 3261
 * §17.1.3 and §17.2.3) start with a branch, "z9hG4bK" and then its unique part; any other key
 * still works, only less evenly spread.
 */
export class ShardedMap<V> {
  private readonly shards: Array<Map<string, V>> = [];
  private count = 0;

  constructor() {
    for (let i = 0; i < SHARDS; i++) this.shards.push(new Map());
  }

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    return this.shards[shardOf(key)]!.get(key);
  }

  set(key: string, value: V): this {
    const shard = this.shards[shardOf(key)]!;
    const before = shard.size;
    shard.set(key, value);
    this.count += shard.size - before;
    return this;
  }

  delete(key: string): boolean {
    if (!this.shards[shardOf(key)]!.delete(key)) return false;
    this.count--;
    return true;
  }

  *values(): IterableIterator<V> {
    for (const shard of this.shards) yield* shard.values();
  }

  clear(): void {
    for (const shard of this.shards) shard.clear();
    this.count = 0;
  }
}

/** FNV-1a over the key's characters FROM..FROM+SPAN (all of a shorter key). */
export function shardOf(key: string): number {
  const start = key.length > FROM ? FROM : 0;
  const end = Math.min(key.length, start + SPAN);
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) & (SHARDS - 1);
}
