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
