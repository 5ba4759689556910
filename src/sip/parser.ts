import { headerName, isToken } from './headerNames.js';
import type { SipHeader, SipMessage, SipRequest } from './message.js';

/** Limits that keep one message from costing more than its size is worth (see docs/design.md). */
export interface ParseLimits {
  maxHeaderLines: number;
}
export const DEFAULT_LIMITS: ParseLimits = { maxHeaderLines: 256 };

export type ParseResult =
  | { ok: true; message: SipMessage }
  /** `request` is set when the start line and headers parsed, so a 400 can still be answered (§16.3). */
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
  const lines = head.split('\n');
  const startLine = stripCr(lines[0]!);

  const headers: SipHeader[] = [];
  let tooMany = false;
  for (let i = 1; i < lines.length; i++) {
    // A line's CR goes with the trim of its value below (no copy of every line without it).
    let line = lines[i]!;
    // Folded continuation lines start with SP or HTAB (§7.3.1).
    while (i + 1 < lines.length && isWhitespaceStart(lines[i + 1]!)) {
      line = `${line.trimEnd()} ${lines[++i]!.trim()}`;
    }
    if (line === '' || line === '\r') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { ok: false, error: `malformed header line: ${clip(stripCr(line))}` };
    const written = line.slice(0, colon).trimEnd();
    const name = headerName(written);
    if (!name) return { ok: false, error: `malformed header name: ${clip(written)}` };
    if (headers.length >= limits.maxHeaderLines) {
      tooMany = true;
      break;
    }
    headers.push({ name: name.name, key: name.key, value: line.slice(colon + 1).trim() });
  }

  let message: SipMessage;
  if (startLine.startsWith('SIP/')) {
    const m = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/.exec(startLine);
    if (!m) return { ok: false, error: `malformed status line: ${clip(startLine)}` };
    message = { kind: 'response', status: Number(m[1]), reason: m[2] ?? '', headers, body: EMPTY };
  } else {
    const m = /^([^ ]+) ([^ ]+) SIP\/(\d+\.\d+)$/.exec(startLine);
    if (!m || !isToken(m[1]!)) return { ok: false, error: `malformed request line: ${clip(startLine)}` };
    message = { kind: 'request', method: m[1]!, uri: m[2]!, headers, body: EMPTY };
    if (m[3] !== '2.0') return { ok: false, error: `unsupported SIP version ${m[3]}`, request: message };
  }

  // The headers kept so far include the top Via, so the sender can still be told (400).
  if (tooMany) return fail(message, `more than ${limits.maxHeaderLines} header lines`);

  // Content-Length framing on a datagram (§18.3): extra bytes are discarded, too few is an error.
  const available = buf.length - bodyStart;
  let bodyLength = Math.max(available, 0);
  const cl = headers.find((h) => h.key === 'content-length');
  if (cl) {
    if (!/^\d{1,10}$/.test(cl.value)) return fail(message, `malformed Content-Length: ${clip(cl.value)}`);
    const n = Number(cl.value);
    if (n > available) return fail(message, `Content-Length ${n} larger than the ${Math.max(available, 0)} body bytes`);
    bodyLength = n;
  }
  const body = bodyLength > 0 ? buf.subarray(bodyStart, bodyStart + bodyLength) : EMPTY;
  return { ok: true, message: { ...message, body } };
}

const EMPTY = Buffer.alloc(0);

function fail(message: SipMessage, error: string): ParseResult {
  return message.kind === 'request' ? { ok: false, error, request: message } : { ok: false, error };
}

/** Where the header section ends and the body starts: at the first empty line (CRLF or bare LF). */
function headerBounds(buf: Buffer, from: number): { headEnd: number; bodyStart: number } | null {
  for (let i = from; i < buf.length - 1; i++) {
    if (buf[i] !== LF) continue;
    const headEnd = i > from && buf[i - 1] === CR ? i - 1 : i;
    if (buf[i + 1] === LF) return { headEnd, bodyStart: i + 2 };
    if (buf[i + 1] === CR && buf[i + 2] === LF) return { headEnd, bodyStart: i + 3 };
  }
  return null;
}

/** SP or HTAB first: the line continues the one before (§7.3.1). */
function isWhitespaceStart(s: string): boolean {
  const c = s.charCodeAt(0);
  return c === 0x20 || c === 0x09;
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}
