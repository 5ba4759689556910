import test from 'ava';
import { NameResolver } from '../../src/transport/nameResolver.js';

/** A lookup that answers when told, counting what it was asked. */
function pendingLookup() {
  const asked: string[] = [];
  const waiting: Array<{ name: string; answer: (address: string | null) => void }> = [];
  const lookup = (name: string) =>
    new Promise<string>((resolve, reject) => {
      asked.push(name);
      waiting.push({ name, answer: (a) => (a === null ? reject(new Error('ENOTFOUND')) : resolve(a)) });
    });
  return { asked, waiting, lookup };
}

test('an address found is kept for its time; "no such name" for a shorter one; names compare in any case', async (t) => {
  let now = 0;
  const l = pendingLookup();
  const r = new NameResolver({ lookup: l.lookup, now: () => now, positiveTtlMs: 1000, negativeTtlMs: 100 });
  const first = r.resolve('Example.test');
  l.waiting.shift()!.answer('10.0.0.7');
  t.is(await first, '10.0.0.7');
  t.is(await r.resolve('example.TEST'), '10.0.0.7');
  t.is(r.cached('EXAMPLE.test'), '10.0.0.7');
  const missing = r.resolve('nowhere.test');
  l.waiting.shift()!.answer(null);
  t.is(await missing, null);
  t.is(await r.resolve('nowhere.test'), null);
  t.deepEqual(l.asked, ['example.test', 'nowhere.test']);
  now = 150; // the failure is asked again, the address still kept
  const retry = r.resolve('nowhere.test');
  t.is(await r.resolve('example.test'), '10.0.0.7');
  l.waiting.shift()!.answer('10.0.0.8');
  t.is(await retry, '10.0.0.8');
  now = 1100;
  t.is(r.cached('example.test'), null, 'expired');
  t.deepEqual(l.asked, ['example.test', 'nowhere.test', 'nowhere.test']);
});

test('one lookup a name however many ask at once; at most maxInFlight names looked up at once, the rest fail at once', async (t) => {
  const l = pendingLookup();
  const r = new NameResolver({ lookup: l.lookup, maxInFlight: 2 });
  const a1 = r.resolve('a.test');
  const a2 = r.resolve('a.test');
  const b = r.resolve('b.test');
  t.is(await r.resolve('c.test'), null, 'beyond the bound: no lookup, no wait');
  t.deepEqual(l.asked, ['a.test', 'b.test']);
  for (const w of l.waiting.splice(0)) w.answer(`10.0.0.${w.name === 'a.test' ? 1 : 2}`);
  t.deepEqual(await Promise.all([a1, a2, b]), ['10.0.0.1', '10.0.0.1', '10.0.0.2']);
  const c = r.resolve('c.test');
  l.waiting.shift()!.answer('10.0.0.3');
  t.is(await c, '10.0.0.3', 'room again once the others answered');
});

test('at most maxCached names are remembered, the oldest forgotten first', async (t) => {
  const r = new NameResolver({ lookup: async (n) => `10.0.0.${n.length}`, maxCached: 3 });
  for (const n of ['a.t', 'bb.t', 'ccc.t', 'dddd.t']) await r.resolve(n);
  t.is(r.size, 3);
  t.is(r.cached('a.t'), null);
  t.is(r.cached('dddd.t'), '10.0.0.6');
});

test('an address gone stale is used while it is asked again, even when lookups hang or fail or the bound is reached', async (t) => {
  let now = 0;
  const l = pendingLookup();
  const r = new NameResolver({ lookup: l.lookup, now: () => now, positiveTtlMs: 1000, negativeTtlMs: 100, maxInFlight: 2 });
  const first = r.resolve('trunk.test');
  l.waiting.shift()!.answer('10.0.0.7');
  t.is(await first, '10.0.0.7');
  // Two lookups that never answer hold both slots; the trunk's entry goes stale.
  void r.resolve('hang1.test');
  void r.resolve('hang2.test');
  now = 1500;
  t.is(await r.resolve('trunk.test'), '10.0.0.7', 'stale, at the bound');
  t.is(await r.resolve('new.test'), null, 'a name never seen fails at the bound');
  for (const w of l.waiting.splice(0)) w.answer(null);
  await new Promise((res) => setImmediate(res));
  t.is(await r.resolve('trunk.test'), '10.0.0.7', 'stale while it is asked again');
  l.waiting.shift()!.answer(null); // the refresh fails: the address is kept a little longer
  await new Promise((res) => setImmediate(res));
  t.is(r.cached('trunk.test'), '10.0.0.7');
});
