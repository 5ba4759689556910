/**
 * Header field names (RFC 3261 §7.3.1, §20). Names compare case-insensitively; the compact
 * forms (§7.3.3, plus RFC 3265 o/u, RFC 3515 r, RFC 3892 b) are aliases of the long form.
 * Every header is looked up by its "key": the lower-case long form.
 */
const COMPACT: Record<string, string> = {
  i: 'call-id',
  f: 'from',
  t: 'to',
  v: 'via',
  m: 'contact',
  l: 'content-length',
  c: 'content-type',
  k: 'supported',
  s: 'subject',
  e: 'content-encoding',
  o: 'event',
  r: 'refer-to',
  u: 'allow-events',
  b: 'referred-by',
  x: 'session-expires',
  a: 'accept-contact',
  j: 'reject-contact',
  d: 'request-disposition',
  y: 'identity',
};

/** The lookup key of a header name as written on the wire. */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  return lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
}

/**
 * Header names as written, each with its key, shared by every message that writes them so:
 * a message kept for a while (a final response a transaction may resend for 32 s) then holds no
 * copies of "Via", "via", "Call-ID"... of its own. Bounded: names past the first few hundred
 * (a scanner's inventions) are simply not remembered.
 */
const SEEN_NAMES = new Map<string, { name: string; key: string }>();
const MAX_SEEN_NAMES = 512;

/** `name` (as written) and its key, the shared pair when it was seen before; null if it is no token. */
export function headerName(name: string): { name: string; key: string } | null {
  const seen = SEEN_NAMES.get(name);
  if (seen) return seen;
  if (!isToken(name)) return null;
  // A string of its own: the name may be a cut from a whole message, which the cache must not hold.
  const own = Buffer.from(name, 'utf8').toString('utf8');
  const pair = { name: own, key: headerKey(own) };
  if (SEEN_NAMES.size < MAX_SEEN_NAMES) SEEN_NAMES.set(own, pair);
  return pair;
}

/**
 * Headers whose value is a comma-separated list (§7.3.1: "Header-name: value, value" is the same
 * as repeating the header). Only these are ever split; WWW-Authenticate, Date and friends are not.
 */
const LIST_HEADERS = new Set([
  'via', 'route', 'record-route', 'contact', 'allow', 'supported', 'require', 'proxy-require',
  'unsupported', 'accept', 'accept-encoding', 'accept-language', 'allow-events', 'content-encoding',
  'in-reply-to', 'path', 'service-route', 'reason', 'error-info', 'alert-info', 'call-info',
]);

export function isListHeader(key: string): boolean {
  return LIST_HEADERS.has(key);
}

/** RFC 3261 token characters (§25.1), used to validate header names and methods. */
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}
