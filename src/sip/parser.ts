import { excerpt } from './excerpt.js';
import { headerName, isToken } from './headerNames.js';
import { messageInfo } from './info.js';
import type { SipHeader, SipMessage, SipRequest } from './message.js';
import { sharedWord } from './sharedWords.js';

/** Limits that keep one message from costing more than its size is worth (see docs/design.md). */
export interface ParseLimits {
  maxHeaderLines: number;
}
export const DEFAULT_LIMITS: ParseLimits = { maxHeaderLines: 256 };

export type ParseResult =
  | { ok: true; message: SipMessage }
  /**
   * `request` is set when the start line and headers parsed, so a 400 can still be answered
   * (§16.3); after a malformed header line, only when the headers that response copies parsed.
   */
  | { ok: false; error: string; request?: SipRequest };

const CR = 0x0d;
const LF = 0x0a;

/**
 * Parses one SIP message from a datagram (RFC 3261 §7, §18.3). Never throws.
 * Lines may end in CRLF or a bare LF (tolerated, as most stacks do); folded lines (§7.3.1) are
 * unfolded to one SP; leading CRLFs (keep-alives, §7.5) are skipped.
 */
export function parseDatagram(buf: Buffer, limits: ParseLimits = DEFAULT_LIMITS): ParseResult {
  try {
    return parse(buf, limits);
  } catch (e) {
    return { ok: false, error: `unparseable: ${(e as Error).message}` };
  }
}

function parse(buf: Buffer, limits: ParseLimits): ParseResult {
  let start = 0;
  while (start < buf.length && (buf[start] === CR || buf[start] === LF)) start++;
  if (start >= buf.length) return { ok: false, error: 'empty' };
  const bounds = headerBounds(buf, start);
  if (!bounds) return { ok: false, error: 'no end of headers' };
  const head = buf.toString('utf8', start, bounds.headEnd);
  const bodyStart = bounds.bodyStart;
  let lineEnd = head.indexOf('\n');
  if (lineEnd < 0) lineEnd = head.length;
  const startLine = head.slice(0, lineEnd > 0 && head.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd);

  // One pass over the header lines by index: a header's name and value are the only strings cut.
  const headers: SipHeader[] = [];
  let tooMany = false;
  let malformed: string | null = null;
  let malformedLines = 0;
  // The next colon in `head` at or after the line being read: a line without one must not send
  // the search to the end of the message again for each line after it.
  let colon = -1;
  let at = lineEnd + 1;
  while (at < head.length) {
    let end = head.indexOf('\n', at);
    if (end < 0) end = head.length;
    let line: string | null = null;
    // Folded continuation lines start with SP or HTAB (§7.3.1): unfolded to one SP. The pieces
    // are joined once: appending to a growing string made a header folded over thousands of lines
    // cost milliseconds a datagram.
    let pieces: string[] | null = null;
    while (end + 1 < head.length && isWhitespace(head.charCodeAt(end + 1))) {
      let next = head.indexOf('\n', end + 1);
      if (next < 0) next = head.length;
      pieces ??= [head.slice(at, end).trimEnd()];
      const piece = head.slice(end + 1, next).trim();
      if (piece.length > 0) pieces.push(piece);
      end = next;
    }
    if (pieces !== null) line = pieces.join(' ');
    const lineStart = at;
    at = end + 1;
    // A folded header is its own string; any other is read in place.
    const text = line ?? head;
    const from = line === null ? lineStart : 0;
    const to = line === null ? end : line.length;
    if (to === from || (to === from + 1 && text.charCodeAt(from) === CR)) continue;
    // Malformed lines count too: a datagram of them costs no more than one of headers.
    if (headers.length + malformedLines >= limits.maxHeaderLines) {
      tooMany = true;
      break;
    }
    if (line === null && colon < from) colon = indexOrEnd(head, ':', from);
    const parsed = headerOf(text, from, to, line === null ? colon : indexOrEnd(line, ':', 0));
    if (parsed === null) {
      // §21.4.1: the 400 names the first bad line; the lines after it are still read for the
      // Via, From, To, Call-ID and CSeq that response is built from (§8.2.6.2).
      malformed ??= `malformed header line: ${excerpt(text, from, text.charCodeAt(to - 1) === CR ? to - 1 : to)}`;
      malformedLines++;
      continue;
    }
    headers.push(parsed);
  }

  let message: SipMessage;
  if (startLine.startsWith('SIP/')) {
    const m = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/.exec(startLine);
    if (!m) return { ok: false, error: `malformed status line: ${excerpt(startLine)}` };
    message = { kind: 'response', status: Number(m[1]), reason: sharedWord(m[2] ?? ''), headers, body: EMPTY };
  } else {
    const m = /^([^ ]+) ([^ ]+) SIP\/(\d+\.\d+)$/.exec(startLine);
    if (!m || !isToken(m[1]!)) return { ok: false, error: `malformed request line: ${excerpt(startLine)}` };
    message = { kind: 'request', method: sharedWord(m[1]!), uri: m[2]!, headers, body: EMPTY };
    if (m[3] !== '2.0') return { ok: false, error: `unsupported SIP version ${m[3]}`, request: message };
  }

  if (malformed !== null) return malformedLine(message, malformed);
  // The headers kept so far include the top Via, so the sender can still be told (400).
  if (tooMany) return fail(message, `more than ${limits.maxHeaderLines} header lines`);

  // Content-Length framing on a datagram (§18.3): extra bytes are discarded, too few is an error.
  const available = buf.length - bodyStart;
  let bodyLength = Math.max(available, 0);
  const cl = headers.find((h) => h.key === 'content-length');
  if (cl) {
    if (!/^\d{1,10}$/.test(cl.value)) return fail(message, `malformed Content-Length: ${excerpt(cl.value)}`);
    const n = Number(cl.value);
    if (n > available) return fail(message, `Content-Length ${n} larger than the ${Math.max(available, 0)} body bytes`);
    bodyLength = n;
  }
  if (bodyLength > 0) (message as { body: Buffer }).body = buf.subarray(bodyStart, bodyStart + bodyLength);
  return { ok: true, message };
}

const EMPTY = Buffer.alloc(0);

function fail(message: SipMessage, error: string): ParseResult {
  return message.kind === 'request' ? { ok: false, error, request: message } : { ok: false, error };
}

/** A request is answered 400 only when the headers a response copies (§8.2.6.2) parsed; a response never. */
function malformedLine(message: SipMessage, error: string): ParseResult {
  if (message.kind === 'response') return { ok: false, error };
  const info = messageInfo(message);
  return info.ok ? { ok: false, error, request: message } : { ok: false, error: `${error}; not answered: ${info.error}` };
}

/** Where the header section ends and the body starts: at the first empty line (CRLF or bare LF). */
function headerBounds(buf: Buffer, from: number): { headEnd: number; bodyStart: number } | null {
  // From LF to LF with indexOf (memchr): a byte loop here was a third of the parse.
  for (let i = buf.indexOf(LF, from); i >= 0 && i < buf.length - 1; i = buf.indexOf(LF, i + 1)) {
    const headEnd = i > from && buf[i - 1] === CR ? i - 1 : i;
    if (buf[i + 1] === LF) return { headEnd, bodyStart: i + 2 };
    if (buf[i + 1] === CR && buf[i + 2] === LF) return { headEnd, bodyStart: i + 3 };
  }
  return null;
}

/** SP or HTAB first: the line continues the one before (§7.3.1). */
function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * The header on `text`'s line [from, end), `colon` the first colon at or after `from`: its name
 * up to the colon (trailing white space left out) and its value with white space trimmed both
 * sides, as String.prototype.trim does; null without a colon or for a name that is no token.
 */
function headerOf(text: string, from: number, end: number, colon: number): SipHeader | null {
  if (colon <= from || colon >= end) return null;
  let nameEnd = colon;
  while (nameEnd > from && isTrimmed(text.charCodeAt(nameEnd - 1))) nameEnd--;
  const written = nameEnd > from && text.charCodeAt(nameEnd - 1) > 0x7f ? text.slice(from, nameEnd).trimEnd() : text.slice(from, nameEnd);
  const name = headerName(written);
  if (!name) return null;
  let a = colon + 1;
  let b = end;
  while (a < b && isTrimmed(text.charCodeAt(a))) a++;
  while (b > a && isTrimmed(text.charCodeAt(b - 1))) b--;
  // Past ASCII, trim() knows more white space (NBSP, U+2028...): leave those to it.
  const value = (a < b && text.charCodeAt(a) > 0x7f) || (b > a && text.charCodeAt(b - 1) > 0x7f) ? text.slice(a, b).trim() : text.slice(a, b);
  return { name: name.name, key: name.key, value };
}

/** ASCII white space that trim() removes: HTAB, LF, VT, FF, CR, SP. */
function isTrimmed(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Where `char` next stands in `s` from `from`, or the end of `s` (searched no further). */
function indexOrEnd(s: string, char: string, from: number): number {
  const i = s.indexOf(char, from);
  return i < 0 ? s.length : i;
}
