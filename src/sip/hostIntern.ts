import { ownString } from '../util/ownString.js';

/**
 * One shared copy of each peer host the proxy keeps: a transaction's reply address (a Via's
 * received or sent-by, RFC 3261 §18.2.2) and a client transaction's destination (§16.6 step 7).
 * A host is cut from a message's text, and V8 keeps a cut of 13 characters or more
 * ("192.168.1.100") as a view onto the whole text: a transaction keeping its peer's address for
 * the 32 s it lingers (64*T1) would keep the request's text with it (BENCHMARKS.md, finding 24).
 *
 * Bounded by count and by length: a flood from many addresses only empties the table, and a host
 * longer than any DNS name (RFC 1035: 255) or address gets a copy of its own, never a place in it.
 */
const MAX_HOSTS = 4096;
const MAX_SHARED_LENGTH = 255;
const hosts = new Map<string, string>();

export function internHost(host: string): string {
  const known = hosts.get(host);
  if (known !== undefined) return known;
  const own = ownString(host);
  if (own.length > MAX_SHARED_LENGTH) return own;
  if (hosts.size >= MAX_HOSTS) hosts.clear();
  hosts.set(own, own);
  return own;
}

/** How many hosts the table holds, and their characters (for tests). */
export function internedHosts(): { count: number; chars: number } {
  let chars = 0;
  for (const h of hosts.keys()) chars += h.length;
  return { count: hosts.size, chars };
}
