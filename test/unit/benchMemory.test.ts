import test from 'ava';
import { settledMemory } from '../../bench/memoryUse.js';
import type { MemorySample } from '../../bench/memory.js';

const MiB = 2 ** 20;

/** A server whose RSS readings come from a list (the last one repeats), counting the samples taken. */
function readings(rssMiB: number[]): { memoryHeld(): Promise<MemorySample>; taken: number } {
  const s = {
    taken: 0,
    async memoryHeld(): Promise<MemorySample> {
      const rss = rssMiB[Math.min(s.taken, rssMiB.length - 1)]! * MiB;
      s.taken++;
      return { rssBytes: rss, pssBytes: rss, processes: 1, heapUsedBytes: 10 * MiB };
    },
  };
  return s;
}

test('the RSS is read again until two readings in a row agree; the first is kept', async (t) => {
  // After a GC the pages it freed go back to the kernel over the next readings.
  const server = readings([100, 85, 84.9, 70]);
  const m = await settledMemory(server, 5000, 5);
  t.is(m.rssBytes, 84.9 * MiB);
  t.is(m.firstRssBytes, 100 * MiB);
  t.is(server.taken, 3);
});

test('a steady RSS stops at the second reading', async (t) => {
  const server = readings([50]);
  const m = await settledMemory(server, 5000, 5);
  t.is(m.rssBytes, 50 * MiB);
  t.is(m.firstRssBytes, 50 * MiB);
  t.is(server.taken, 2);
});

test('an RSS that keeps moving is read until the cap, then the last reading counts', async (t) => {
  const falling = Array.from({ length: 1000 }, (_, i) => 500 - i);
  const server = readings(falling);
  const m = await settledMemory(server, 60, 5);
  t.true(server.taken >= 3 && server.taken < 1000);
  t.is(m.rssBytes, falling[server.taken - 1]! * MiB);
  t.is(m.firstRssBytes, 500 * MiB);
});
