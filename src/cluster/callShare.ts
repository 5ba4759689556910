/**
 * A worker's share of `--max-calls` (docs/design.md "Across cores"). Each worker counts the calls
 * it owns (those whose Call-ID hashes to it, src/cluster/callIdOwner.ts) against its own share, so
 * a new INVITE is admitted or refused where it is handled, with no message to another process.
 * The shares add up to the limit, so the whole proxy holds at most `--max-calls` calls: the limit
 * divided by the number of workers, the remainder one call each to the first workers.
 */
export function callShare(maxCalls: number, workers: number, index: number): number {
  return Math.floor(maxCalls / workers) + (index < maxCalls % workers ? 1 : 0);
}
