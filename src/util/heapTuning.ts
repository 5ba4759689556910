import v8 from 'node:v8';

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
 */
export function tuneHeap(): void {
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
