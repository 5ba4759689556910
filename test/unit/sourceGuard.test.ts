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
  t.true(guard.userLocked('alice'));
  t.deepEqual(guard.liveLocks().map((l) => l.user), ['alice']);
  await sleep(80);
  t.deepEqual(guard.liveLocks(), []);
  t.false(guard.userLocked('alice'));
  // A lock from elsewhere (the primary) holds the same way.
  guard.restoreLock('bob', Date.now() + 1000);
  t.true(guard.userLocked('bob'));
});
