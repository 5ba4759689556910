import { parseDatagram } from '../sip/parser.js';
import { getHeader } from '../sip/message.js';
import { fnv1aBytes } from '../proxy/hash.js';

/**
 * Which worker owns a datagram: a hash of its Call-ID, modulo the number of workers. Every
 * message of a transaction and of a dialog carries the Call-ID of the request that began it
 * (RFC 3261 §8.1.1.4, §9.1 CANCEL, §17.1.1.3 ACK, §12.2.1.1 in-dialog requests), so one worker
 * sees all of a call, provided the hash is of the value the parser reads: that is what the proxy
 * forwards (and journals), so it is what the other side's messages carry back.
 *
 * This runs before the parser, on every datagram, so the usual case is a byte scan: the start
 * line is skipped, then each header line's name is compared with `Call-ID` or its compact form
 * `i` (§7.3.3, case-insensitive, optional whitespace before the colon). Anything the scan could
 * read otherwise than the parser (leading CRLFs, a folded value, bytes outside printable ASCII,
 * no Call-ID line found) goes to the parser instead.
 */

const LF = 10;
const CR = 13;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const CALL_ID = Buffer.from('call-id');
/** The scan cannot vouch for its reading: ask the parser. */
const UNSURE = -2;

/** The FNV-1a hash of the Call-ID value as the parser reads it, or -1 when it has none. */
export function callIdHash(data: Uint8Array): number {
  const h = scan(data);
  if (h !== UNSURE) return h;
  const parsed = parseDatagram(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length));
  const value = parsed.ok ? getHeader(parsed.message, 'call-id') : undefined;
  return value === undefined ? -1 : callIdTextHash(value);
}

/** The same hash of a Call-ID given as text (the parser's value; a journaled call's Call-ID). */
export function callIdTextHash(callId: string): number {
  const bytes = Buffer.from(callId.trim(), 'utf8');
  return fnv1aBytes(bytes);
}

/** The worker (0..workers-1) that owns a datagram; -1 when it has no Call-ID (the reader keeps it). */
export function ownerOf(data: Uint8Array, workers: number): number {
  const h = callIdHash(data);
  return h < 0 ? -1 : h % workers;
}

function scan(data: Uint8Array): number {
  const n = data.length;
  if (n === 0) return -1;
  if (data[0] === CR || data[0] === LF) return UNSURE; // keep-alive CRLFs before the start line (§7.5)
  let line = afterLine(data, 0);
  while (line < n) {
    const first = data[line]!;
    if (first === CR || first === LF) return UNSURE; // end of headers without a Call-ID line
    let p = line;
    while (p < n) {
      const c = data[p]!;
      if (c === COLON || c === SP || c === HTAB || c === LF || c === CR) break;
      p++;
    }
    if (isCallIdName(data, line, p - line)) {
      while (p < n && (data[p] === SP || data[p] === HTAB)) p++;
      if (data[p] === COLON) return valueHash(data, p + 1);
      return UNSURE;
    }
    line = afterLine(data, p);
  }
  return UNSURE;
}

function afterLine(data: Uint8Array, from: number): number {
  const i = data.indexOf(LF, from);
  return i < 0 ? data.length : i + 1;
}

function isCallIdName(data: Uint8Array, at: number, len: number): boolean {
  if (len === 1) return (data[at]! | 0x20) === 0x69; // 'i' or 'I'
  if (len !== 7) return false;
  for (let k = 0; k < 7; k++) if ((data[at + k]! | 0x20) !== CALL_ID[k]) return false;
  return true;
}

/** The value's hash, trimmed of SP/HTAB as the parser trims it; UNSURE if the parser might read it otherwise. */
function valueHash(data: Uint8Array, from: number): number {
  const next = afterLine(data, from);
  // A continuation line (§7.3.1) folds into the value: the parser joins it.
  if (next < data.length && (data[next] === SP || data[next] === HTAB)) return UNSURE;
  let end = next;
  if (end > from && data[end - 1] === LF) end--;
  if (end > from && data[end - 1] === CR) end--;
  let start = from;
  while (start < end && (data[start] === SP || data[start] === HTAB)) start++;
  while (end > start && (data[end - 1] === SP || data[end - 1] === HTAB)) end--;
  if (start === end) return UNSURE;
  // Printable ASCII (and inner blanks) reads the same as UTF-8 text trimmed by the parser.
  for (let i = start; i < end; i++) {
    const c = data[i]!;
    if ((c < 0x20 && c !== HTAB) || c > 0x7e) return UNSURE;
  }
  return fnv1aBytes(data, start, end);
}
