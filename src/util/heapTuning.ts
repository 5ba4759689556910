import v8 from 'node:v8';

/**
 * V8 flags that must be on the command line: V8 sizes its young generation when it creates the
 * heap, so setting them from inside the process does nothing (checked with
 * v8.getHeapSpaceStatistics). `npm start`, the `sipstate` executable's first line and the benchmark
 * pass them; a unit test keeps the three in step with this list.
 *
 * A young generation of at most 4 MiB a semi-space instead of 16: a scavenge copies what is still
 * alive, mostly the transactions created since the last one (they linger 32 s, 64*T1); scavenging
 * more often copies fewer of them each time, so each pause, and the wait of the INVITEs that
 * arrive during one, is shorter. CPU per call did not change (BENCHMARKS.md, profile finding 23).
 */
export const COMMAND_LINE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/**
 * The old generation may grow to four times what a full collection left alive before the next
 * one (V8's own factor ended at about 1.3 here). Under a steady load the proxy keeps 32 s of
 * lingering transactions alive; at 1.3 V8 collected every few seconds, and on one core each
 * collection's incremental marking took most of the event loop's time for a fifth of a second,
 * during which calls queued up. At 4 the collections are ten times rarer (finding 23). The price
 * is memory: under load the heap may reach four times what is alive. Read at every collection:
 * setting it at start works (checked with --trace-gc).
 */
const OLD_GENERATION_GROWING_PERCENT = 300;

/**
 * Turns off V8's allocation-site pretenuring for this process. V8 allocates an allocation site's
 * objects straight in the old generation once most of them survive a scavenge. With it on, the
 * action records XState makes for every message were born old, where only a full collection
 * frees them. Our reading of why: XState allocates a transaction's snapshots and records at the
 * same sites whether they die within the message or linger 32 s (64*T1), and the lingering ones
 * tip those sites over.
 * Measured (BENCHMARKS.md, profile finding 17): objects surviving a scavenge per call 27 -> 15
 * KB on the wire, server CPU per call about a tenth lower, the in-process hot path 360 -> 280 µs.
 *
 * Set at start, before the proxy allocates anything it keeps: V8 reads this flag each time it
 * weighs its pretenuring feedback, so changing it at run time takes effect (verified with
 * bench/hotpath.ts, which gets the same figures as with `node --no-allocation-site-pretenuring`).
 * The old generation's growing factor (above) is set here too.
 */
export function tuneHeap(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
  v8.setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWING_PERCENT}`);
}
