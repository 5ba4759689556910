import test from 'ava';
import { SourceGuard } from '../../src/security/sourceGuard.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a release names the end of the ban it ends (the cluster\'s primary matches it to the ban it holds)', async (t) => {
  const seen: string[] = [];
  let bannedUntil = 0;
  const guard = new SourceGuard({ requestsPerSecond: 2, authFailuresPerMinute: 10, banMs: 40 }, {
    banned: (source, reason, until) => {
      bannedUntil = until;
      seen.push(`banned ${source} ${reason}`);
    },
    released: (source, until) => seen.push(`released ${source} ${until === bannedUntil ? 'same until' : `until ${until} != ${bannedUntil}`}`),
  });
  t.teardown(() => guard.close());
  for (let i = 0; i < 3; i++) guard.admitRequest('10.0.0.66');
  t.false(guard.admitDatagram('10.0.0.66'));
  await sleep(80);
  t.true(guard.admitDatagram('10.0.0.66'));
  t.deepEqual(seen, ['banned 10.0.0.66 rate', 'released 10.0.0.66 same until']);
});

test('a locked user is announced, listed while locked, and unlocked when the lock ends', async (t) => {
  const locks: string[] = [];
  const guard = new SourceGuard({ requestsPerSecond: 0, authFailuresPerMinute: 1, banMs: 40 }, {
    banned: () => {},
    released: () => {},
    locked: (user) => locks.push(user),
  });
  t.teardown(() => guard.close());
  // Four failures for one user from four sources: more than 3 × the per-source limit.
  for (let i = 1; i <= 4; i++) guard.authFailed(`10.0.0.${i}`, 'alice');
  t.deepEqual(locks, ['alice']);
  t.true(guard.userLocked('alice', '10.0.0.9'));
  t.deepEqual(guard.liveLocks().map((l) => l.user), ['alice']);
  await sleep(80);
  t.deepEqual(guard.liveLocks(), []);
  t.false(guard.userLocked('alice', '10.0.0.9'));
  // A lock from elsewhere (the primary) holds the same way.
  guard.restoreLock('bob', Date.now() + 1000);
  t.true(guard.userLocked('bob', '10.0.0.9'));
});

test('a lock spares the addresses its user has lately authenticated from, and names them when announced', (t) => {
  const locks: Array<[string, string[]]> = [];
  const guard = new SourceGuard({ requestsPerSecond: 0, authFailuresPerMinute: 1, banMs: 60_000 }, {
    banned: () => {},
    released: () => {},
    locked: (user, _until, sources) => locks.push([user, sources]),
  });
  t.teardown(() => guard.close());
  t.true(guard.authSucceeded('10.0.0.1', 'alice'), 'her phone');
  for (let i = 2; i <= 5; i++) guard.authFailed(`10.0.0.${i}`, 'alice');
  t.deepEqual(locks, [['alice', ['10.0.0.1']]]);
  t.false(guard.userLocked('alice', '10.0.0.1'), 'her phone\'s address');
  t.true(guard.userLocked('alice', '10.0.0.9'), 'anywhere else');
  t.deepEqual(guard.liveLocks().map((l) => [l.user, l.sources]), [['alice', ['10.0.0.1']]]);
  // A success from another address during the lock (a worker that had not heard of it yet) is
  // announced again, so that every worker spares it too.
  t.true(guard.authSucceeded('10.0.0.7', 'alice'));
  t.deepEqual(locks.at(-1), ['alice', ['10.0.0.1', '10.0.0.7']]);
  t.false(guard.authSucceeded('10.0.0.7', 'alice'), 'no news: nothing announced');
  t.is(locks.length, 2);
  // A lock from elsewhere (the primary) spares the addresses it names.
  guard.restoreLock('bob', Date.now() + 1000, ['10.0.0.8']);
  t.false(guard.userLocked('bob', '10.0.0.8'));
  t.true(guard.userLocked('bob', '10.0.0.1'));
});
