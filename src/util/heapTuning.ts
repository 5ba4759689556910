import v8 from 'node:v8';

/**
 * V8 flags that must be on the command line: V8 sizes its young generation when it creates the
 * heap, so setting them from inside the process does nothing (checked with
 * v8.getHeapSpaceStatistics). `npm start`, the `sipstate` executable's first line and the benchmark
 * pass them; a unit test keeps the three in step with this list.
 *
 * A young generation of at most 4 MiB a semi-space instead of 16: a scavenge copies what is still
 * alive, most of it the transactions that linger 32 s (64*T1), and a smaller young generation
 * copies less each time. Each pause is shorter and the INVITEs that arrive during one wait less
 * (BENCHMARKS.md, profile finding 23: INVITE p99 inside the proxy at 1,000 calls/s 5.5 -> 2.4 ms,
 * both with the growing factor below).
 */
export const COMMAND_LINE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/**
 * The old generation may grow to four times what was alive after a full collection before the
 * next one (V8's own factor ended at about 1.3 here). A proxy carrying a steady load keeps 32 s of
 * lingering transactions alive (130 MiB at 1,000 calls/s): at 1.3 V8 collected every 4 s, and
 * each collection's incremental marking took about 130 ms of the event loop's time within 190 ms
 * on one core, during which calls queued up (INVITE p99 inside the proxy 121 ms over a minute at
 * 1,000 calls/s). At 4 it collects every 30-50 s: p99 5.5 ms, 2.4 ms with the smaller young
 * generation above (finding 23). The price is memory: under load the heap may reach four times
 * what is alive, which is little under light load. Read at every collection: setting it at start
 * works (checked with --trace-gc).
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
