import test from 'ava';
import { EXTEND_BY, MAX_EXTENSIONS, MAX_STEPS, RateSearch } from '../../bench/rateSearch.js';
import { callResult as result, callStep as step } from '../helpers/benchSteps.js';
import { maxText } from '../../bench/report.js';

/** The rates a search tries for a server whose highest passing rate is `capacity`. */
function tried(ladder: number[], capacity: number): number[] {
  const search = new RateSearch(ladder);
  const rates: number[] = [];
  for (let r = search.next(); r !== null; r = search.next()) {
    rates.push(r);
    search.record(r, r <= capacity);
    if (rates.length > 50) throw new Error('the search does not end');
  }
  return rates;
}

const LADDER = [2750, 3500, 4500, 5500];

test('the ladder up to the first failure, then one step halfway back', (t) => {
  t.deepEqual(tried(LADDER, 3900), [2750, 3500, 4500, 4000]);
  t.deepEqual(tried(LADDER, 4200), [2750, 3500, 4500, 4000]);
  // The middle is a multiple of 250.
  t.deepEqual(tried(LADDER, 3000), [2750, 3500, 3250]);
});

test('past the last step while the server passes, so its highest rate is measured, not bounded', (t) => {
  t.deepEqual(tried(LADDER, 5900), [...LADDER, 6500, 6000]);
  t.deepEqual(tried(LADDER, 6600), [...LADDER, 6500, 7500, 7000]);
  // At most MAX_EXTENSIONS more: then the figure is a bound again.
  const all = tried(LADDER, 1e9);
  t.is(all.length, LADDER.length + MAX_EXTENSIONS);
  t.is(all[all.length - 1], 5500 + MAX_EXTENSIONS * EXTEND_BY);
});

test('never more than MAX_STEPS steps, whatever the ladder', (t) => {
  const long = [1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500];
  t.deepEqual(tried(long, 1e9), long.slice(0, MAX_STEPS));
  t.is(tried([1000, 2000, 3000, 4000, 5000, 6000], 6600).length, MAX_STEPS);
});

test('a first step that fails is followed by lower ones', (t) => {
  t.deepEqual(tried(LADDER, 1600), [2750, 2000, 1500, 1750]);
  t.deepEqual(tried(LADDER, 2100), [2750, 2000, 2500]);
  // Nothing passes: two descents, then the search ends.
  t.deepEqual(tried(LADDER, 0), [2750, 2000, 1500]);
});

test('steps closer than twice the grain are not split', (t) => {
  t.deepEqual(tried([1000, 1400], 1200), [1000, 1400]);
});

test('the highest rate is a bound only when no step failed, not when a bisection step passed last', (t) => {
  t.is(maxText(result([step(2750, true), step(3500, false), step(3250, true)]), ' cps'), '3,250 cps');
  t.is(maxText(result([step(2750, true), step(3500, true)]), ' cps'), '≥ 3,500 cps (all steps passed)');
  t.is(maxText(result([step(2750, false), step(2000, false)]), ' cps'), '< 2,000 cps (every step failed)');
});
