/**
 * Which worker owns a datagram: a hash of its Call-ID, modulo the number of workers. Every
 * message of a transaction and of a dialog carries the Call-ID of the request that began it
 * (RFC 3261 §8.1.1.4, §9.1 CANCEL, §17.1.1.3 ACK, §12.2.1.1 in-dialog requests), so one worker
 * sees all of a call. This runs before the parser, on every datagram, so it only scans bytes:
 * the start line is skipped, then each header line's name is compared with `Call-ID` or its
 * compact form `i` (§7.3.3, case-insensitive, optional whitespace before the colon).
 */

const LF = 10;
const CR = 13;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const CALL_ID = Buffer.from('call-id');

/** The FNV-1a hash of the Call-ID value (trimmed), or -1 when the header section has none. */
export function callIdHash(data: Uint8Array): number {
  const n = data.length;
  let line = afterLine(data, 0);
  while (line < n) {
    const first = data[line]!;
    if (first === CR || first === LF) return -1; // the empty line: no Call-ID in the headers
    let p = line;
    while (p < n) {
      const c = data[p]!;
      if (c === COLON || c === SP || c === HTAB || c === LF) break;
      p++;
    }
    if (isCallIdName(data, line, p - line)) {
      while (p < n && (data[p] === SP || data[p] === HTAB)) p++;
      if (data[p] === COLON) return valueHash(data, p + 1);
    }
    line = afterLine(data, p);
  }
  return -1;
}

/** The same hash of a Call-ID given as text (restart recovery hands a journaled call to its owner). */
export function callIdTextHash(callId: string): number {
  return fnv1a(Buffer.from(callId.trim(), 'utf8'), 0, Buffer.byteLength(callId.trim(), 'utf8'));
}

/** The worker (0..workers-1) that owns a datagram; -1 when it has no Call-ID (the reader keeps it). */
export function ownerOf(data: Uint8Array, workers: number): number {
  const h = callIdHash(data);
  return h < 0 ? -1 : h % workers;
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

function valueHash(data: Uint8Array, from: number): number {
  let start = from;
  let end = afterLine(data, from);
  while (start < end && (data[start] === SP || data[start] === HTAB)) start++;
  while (end > start && (data[end - 1] === LF || data[end - 1] === CR || data[end - 1] === SP || data[end - 1] === HTAB)) end--;
  return fnv1a(data, start, end);
}

function fnv1a(data: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= data[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
