// Where each user has lately authenticated from (src/security/authenticatedSources.ts): the
// addresses exempt from that user's lock, bounded per user and in time.
import test from 'ava';
import { AuthenticatedSources, SOURCES_PER_USER } from '../../src/security/authenticatedSources.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a success is news once per half lifetime; the pair lasts its lifetime from the last refresh', (t) => {
  let now = 1_000_000;
  const s = new AuthenticatedSources(1000, () => now);
  t.teardown(() => s.clear());
  t.true(s.remember('101', '10.0.0.1'), 'a new pair');
  now += 400;
  t.false(s.remember('101', '10.0.0.1'), 'refreshed less than half its lifetime ago: nothing to report');
  now += 200;
  t.true(s.remember('101', '10.0.0.1'), 'over half: refreshed, news');
  now += 999;
  t.true(s.has('101', '10.0.0.1'));
  t.false(s.has('102', '10.0.0.1'), 'per user');
  t.false(s.has('101', '10.0.0.2'), 'per address');
  now += 1;
  t.false(s.has('101', '10.0.0.1'), 'expired');
  t.deepEqual(s.sourcesOf('101'), []);
});

test('at most SOURCES_PER_USER addresses a user, the oldest forgotten; restore keeps a pair at least until then', (t) => {
  let now = 1_000_000;
  const s = new AuthenticatedSources(60_000, () => now);
  t.teardown(() => s.clear());
  for (let i = 0; i <= SOURCES_PER_USER; i++) {
    s.remember('101', `10.0.${i >> 8}.${i & 255}`);
    now++;
  }
  t.is(s.size, SOURCES_PER_USER);
  t.false(s.has('101', '10.0.0.0'), 'the oldest went');
  t.true(s.has('101', `10.0.0.${SOURCES_PER_USER}`));
  s.restore('102', '10.0.9.9', now + 5);
  s.restore('102', '10.0.9.9', now + 2);
  now += 4;
  t.true(s.has('102', '10.0.9.9'), 'an earlier end does not shorten it');
  t.deepEqual(s.sourcesOf('102'), ['10.0.9.9']);
});

test('expired pairs are swept: nothing is held once every lifetime has run out', async (t) => {
  const s = new AuthenticatedSources(30);
  t.teardown(() => s.clear());
  for (let u = 0; u < 50; u++) s.remember(`u${u}`, '10.0.0.1');
  t.is(s.size, 50);
  await sleep(100);
  t.is(s.size, 0);
});
