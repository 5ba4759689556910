import test from 'ava';
import { LogLimiter, OTHER_KIND, type LogLimiterOptions } from '../../src/util/logLimiter.js';

/** A limiter on a clock the test moves, whose summary timer the test fires. */
function limiter(opts: LogLimiterOptions = {}) {
  const clock = { now: 0 };
  const summaries: Array<{ kind: string; count: number; ms: number }> = [];
  const timers: Array<{ fn: () => void; at: number }> = [];
  const l = new LogLimiter((kind, count, ms) => summaries.push({ kind, count, ms }), {
    now: () => clock.now,
    later: (fn, ms) => timers.push({ fn, at: clock.now + ms }),
    ...opts,
  });
  /** Moves the clock to `ms`, firing the timers due by then. */
  const advance = (ms: number) => {
    clock.now = ms;
    for (const due of timers.filter((x) => x.at <= ms)) {
      timers.splice(timers.indexOf(due), 1);
      due.fn();
    }
  };
  const admitted = (kind: string, n: number) => Array.from({ length: n }, () => l.admit(kind)).filter(Boolean).length;
  return { l, clock, summaries, timers, advance, admitted };
}

test('at most 10 lines of a kind a second; the rest are counted and summarized once, 10 s after the first held back', (t) => {
  const { summaries, timers, advance, admitted } = limiter();
  t.is(admitted('bad message from', 1000), 10);
  t.is(timers.length, 1, 'one timer for the whole flood, not one per line');
  advance(999);
  t.is(admitted('bad message from', 5), 0, 'still the same second');
  advance(1000);
  t.is(admitted('bad message from', 100), 10, 'a new second lets 10 through again');
  advance(9999);
  t.deepEqual(summaries, []);
  advance(10_000);
  t.deepEqual(summaries, [{ kind: 'bad message from', count: 990 + 5 + 90, ms: 10_000 }]);
  t.is(timers.length, 0);
});

test('a flood held for a minute writes 10 lines a second and one summary each 10 s, counting every line', (t) => {
  const { summaries, advance, admitted } = limiter();
  let written = 0;
  for (let ms = 0; ms < 60_000; ms += 10) {
    advance(ms);
    written += admitted('rejected', 100);
  }
  advance(70_000);
  t.is(written, 600);
  t.is(summaries.length, 6);
  t.is(written + summaries.reduce((s, x) => s + x.count, 0), 600_000);
});

test('kinds are limited apart: a flood of one does not silence another', (t) => {
  const { summaries, advance, admitted } = limiter();
  t.is(admitted('bad message from', 500), 10);
  t.is(admitted('socket', 3), 3);
  advance(10_000);
  t.deepEqual(summaries.map((s) => [s.kind, s.count]), [['bad message from', 490]]);
});

test('nothing held back, nothing summarized; flush() writes what waits (at stop) and only once', (t) => {
  const { l, summaries, timers, advance, admitted } = limiter();
  t.is(admitted('banned', 10), 10);
  t.is(timers.length, 0, 'no timer while nothing is held back');
  advance(500);
  t.is(admitted('banned', 12), 0);
  l.flush();
  t.deepEqual(summaries, [{ kind: 'banned', count: 12, ms: 0 }]);
  advance(10_500);
  t.is(summaries.length, 1, 'the timer finds nothing left to tell');
});

test('past maxKinds new kinds share one count, and kinds quiet for a summary interval make room again', (t) => {
  const { summaries, advance, admitted } = limiter({ maxKinds: 3, perSecond: 1 });
  for (const k of ['a', 'b', 'c']) t.is(admitted(k, 2), 1);
  t.is(admitted('d', 2), 1);
  t.is(admitted('e', 2), 0, 'd and e share one count: 1 of 4 let through');
  advance(10_000);
  t.deepEqual(summaries.map((s) => [s.kind, s.count]).sort(), [['a', 1], ['b', 1], ['c', 1], [OTHER_KIND, 3]]);
  // The next summary forgets the kinds quiet since: 'f' gets a count of its own.
  t.is(admitted('a', 2), 1);
  advance(20_000);
  t.is(admitted('f', 2), 1);
  t.is(admitted('g', 2), 1);
});
