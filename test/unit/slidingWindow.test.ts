import test from 'ava';
import { SlidingWindowCounter } from '../../src/security/slidingWindow.js';

test('the rate over the last window counts this window and the overlapping part of the one before', (t) => {
  const w = new SlidingWindowCounter(1000);
  for (let i = 0; i < 10; i++) w.hit('a', 0);
  t.is(w.hit('a', 500), 11);
  // Half of the first window still overlaps the last second at 1500.
  t.is(w.hit('a', 1500), 1 + 11 * 0.5);
  t.is(w.hit('a', 5000), 1, 'two idle windows forget the past');
});

test('full of keys, it forgets the idlest ones, not a source that keeps hitting', (t) => {
  const w = new SlidingWindowCounter(60_000, 1000);
  for (let i = 0; i < 5; i++) w.hit('guesser', i);
  // A flood of forged sources, each seen once, while the guesser keeps going.
  for (let i = 0; i < 5000; i++) {
    w.hit(`forged-${i}`, 10);
    if (i % 100 === 0) w.hit('guesser', 10);
  }
  t.true(w.size <= 1000);
  t.true(w.hit('guesser', 20) > 50, 'the guesser\'s count survived the flood');
});
