import { SharedStrings } from '../util/sharedStrings.js';

/**
 * One shared copy of each peer host the proxy keeps: a transaction's reply address (a Via's
 * received or sent-by, RFC 3261 §18.2.2) and a client transaction's destination (§16.6 step 7).
 * A host is cut from a message's text, and V8 keeps a cut of 13 characters or more
 * ("192.168.1.100") as a view onto the whole text: a transaction keeping its peer's address for
 * the 32 s it lingers (64*T1) would keep the request's text with it (BENCHMARKS.md, finding 24).
 *
 * At most 4096 hosts; one longer than any DNS name (RFC 1035: 255) or address is not shared.
 */
const hosts = new SharedStrings(4096, 255);

export function internHost(host: string): string {
  return hosts.get(host);
}

/** How many hosts the table holds, and their characters (for tests). */
export function internedHosts(): { count: number; chars: number } {
  return hosts.held();
}
