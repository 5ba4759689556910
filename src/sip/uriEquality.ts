import { defaultPort, type SipUri } from './uri.js';

/** Parameters that make two URIs differ when only one has them (§19.1.4, transport by its default-value rule). */
const DECISIVE_PARAMS = new Set(['transport', 'user', 'ttl', 'method', 'maddr']);

/**
 * SIP URI equality (RFC 3261 §19.1.4): the same scheme; user and password compared
 * case-sensitively, host case-insensitively; the same port, or none in both; every parameter
 * in both URIs equal (names and values case-insensitive), transport, user, ttl, method and maddr
 * in one only unequal, any other in one only ignored; the same headers in any order. An escaped
 * character equals itself unescaped (%61lice is alice). `defaultPort`: a missing port counts as
 * the scheme's default (5060 for sip:), which §19.1.4 does not allow but some phones' digest uri
 * needs (RFC 2617 §3.2.2.5 leaves the comparison to the server).
 */
export function sameSipUri(a: SipUri, b: SipUri, opts: { defaultPort?: boolean } = {}): boolean {
  if (a.scheme !== b.scheme || a.host.toLowerCase() !== b.host.toLowerCase()) return false;
  if (unescaped(a.user) !== unescaped(b.user) || unescaped(a.password) !== unescaped(b.password)) return false;
  const port = (u: SipUri) => u.port ?? (opts.defaultPort ? defaultPort(u) : null);
  if (port(a) !== port(b)) return false;
  return sameParams(a, b) && headerSet(a.headers) === headerSet(b.headers);
}

function sameParams(a: SipUri, b: SipUri): boolean {
  const x = paramMap(a);
  const y = paramMap(b);
  for (const [name, value] of x) {
    const other = y.get(name);
    if (other === undefined ? DECISIVE_PARAMS.has(name) : other !== value) return false;
  }
  for (const name of y.keys()) if (!x.has(name) && DECISIVE_PARAMS.has(name)) return false;
  return true;
}

function paramMap(u: SipUri): Map<string, string> {
  return new Map(u.params.map(([n, v]) => [unescaped(n.toLowerCase())!, unescaped((v ?? '').toLowerCase())!]));
}

function headerSet(headers: string | null): string {
  if (headers === null) return '';
  return headers.split('&').map((h) => {
    const eq = h.indexOf('=');
    return eq < 0 ? unescaped(h.toLowerCase()) : `${unescaped(h.slice(0, eq).toLowerCase())}=${unescaped(h.slice(eq + 1))}`;
  }).sort().join('&');
}

/** %HH of a character outside the reserved set is that character (§19.1.4); other escapes stay, upper-cased. */
function unescaped(s: string | null): string | null {
  if (s === null || !s.includes('%')) return s;
  return s.replace(/%([0-9a-fA-F]{2})/g, (esc, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-_.!~*'()]/.test(c) ? c : esc.toUpperCase();
  });
}
