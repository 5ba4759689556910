import test from 'ava';
import fc from 'fast-check';
import { SHARDS, ShardedMap, shardOf } from '../../src/util/shardedMap.js';
import { newBranch } from '../../src/proxy/branch.js';

test('a ShardedMap answers as one Map would, whatever the sequence of sets and deletes', (t) => {
  const key = fc.oneof(fc.constantFrom('', 'a', 'z9hG4bK', 'z9hG4bK-1'), fc.string({ maxLength: 40 }));
  const op = fc.tuple(fc.constantFrom('set', 'delete', 'get'), key, fc.integer());
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const sharded = new ShardedMap<number>();
      const plain = new Map<string, number>();
      for (const [kind, k, v] of ops) {
        if (kind === 'set') sharded.set(k, v), plain.set(k, v);
        else if (kind === 'delete') t.is(sharded.delete(k), plain.delete(k));
        t.is(sharded.get(k), plain.get(k));
        t.is(sharded.size, plain.size);
      }
      t.deepEqual([...sharded.values()].sort(), [...plain.values()].sort());
      sharded.clear();
      t.is(sharded.size, 0);
      t.deepEqual([...sharded.values()], []);
    }),
  );
});

test('transaction keys spread evenly over the shards: our branches, SIPp-style ones and random ones', (t) => {
  const spread = (keys: string[]) => {
    const counts = new Array<number>(SHARDS).fill(0);
    for (const k of keys) counts[shardOf(k)]!++;
    return Math.max(...counts) / (keys.length / SHARDS);
  };
  const n = 64_000;
  const ours = Array.from({ length: n }, (_, i) => `${newBranch((i * 2654435761 >>> 0).toString(16))}|INVITE`);
  // SIPp numbers its calls: z9hG4bK-<pid>-<call>-<n>.
  const sipp = Array.from({ length: n }, (_, i) => `z9hG4bK-4242-${i + 1}-0|127.0.0.1:5061|INVITE`);
  const random = Array.from({ length: n }, () => `z9hG4bK${Math.random().toString(36).slice(2)}|192.168.1.20:5060|BYE`);
  for (const [name, keys] of [['ours', ours], ['SIPp', sipp], ['random', random]] as const) {
    const worst = spread(keys);
    t.true(worst < 1.5, `${name}: the fullest shard holds ${worst.toFixed(2)} times its share`);
  }
});
