import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Digest access authentication as SIP uses it (RFC 3261 §22.4, which takes RFC 2617; RFC 7616
 * for SHA-256; RFC 8760 for SIP's use of SHA-256). Pure functions: no clock, no state.
 */

/** The algorithms offered: SHA-256 (RFC 8760 §2.1) and MD5 for older phones. `-sess` variants are not offered. */
export type DigestAlgorithm = 'MD5' | 'SHA-256';

/** Credentials from one Authorization / Proxy-Authorization value (RFC 3261 §25.1 `digest-response`). */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  /** `digest-uri` as sent (the hash covers exactly this text). */
  readonly uri: string;
  readonly response: string;
  /** As sent, or null when absent (which means MD5, RFC 7616 §3.4). */
  readonly algorithm: string | null;
  /** Null for the RFC 2069 form (no qop, no nc, no cnonce). */
  readonly qop: string | null;
  readonly nc: string | null;
  readonly cnonce: string | null;
  readonly opaque: string | null;
  /** Every parameter, names lower-cased, values unquoted. */
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN_CHAR = /[A-Za-z0-9\-.!%*_+`'~]/;

/**
 * Parses `Digest name=value, name="quoted, value", ...`. The scheme and the parameter names are
 * case-insensitive (RFC 7235 §2.1, RFC 3261 §25.1); values are tokens or quoted-strings with
 * backslash escapes (§25.1), so commas inside quotes belong to the value. A parameter given twice
 * is refused (RFC 7235 §2.1: each name occurs once). Returns null when malformed or when a
 * required parameter is missing: username, realm, nonce, uri, response always; nc and cnonce
 * when qop is present (RFC 7616 §3.4).
 */
export function parseDigestCredentials(value: string): DigestCredentials | null {
  const m = /^\s*Digest\s+/i.exec(value);
  if (!m) return null;
  const s = value;
  const params = new Map<string, string>();
  let i = m[0].length;
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) i++;
  };
  while (true) {
    ws();
    while (s[i] === ',') { i++; ws(); } // empty list elements are allowed (RFC 7230 §7)
    if (i >= s.length) break;
    const start = i;
    while (i < s.length && TOKEN_CHAR.test(s[i]!)) i++;
    if (i === start) return null;
    const name = s.slice(start, i).toLowerCase();
    ws();
    if (s[i] !== '=') return null;
    i++;
    ws();
    let v = '';
    if (s[i] === '"') {
      i++;
      for (;;) {
        if (i >= s.length) return null; // unterminated quoted-string
        const c = s[i++]!;
        if (c === '"') break;
        if (c === '\\') {
          if (i >= s.length) return null;
          v += s[i++];
        } else v += c;
      }
    } else {
      const vs = i;
      while (i < s.length && TOKEN_CHAR.test(s[i]!)) i++;
      if (i === vs) return null;
      v = s.slice(vs, i);
    }
    if (params.has(name)) return null;
    params.set(name, v);
    ws();
    if (i < s.length && s[i] !== ',') return null;
  }
  const get = (n: string) => params.get(n) ?? null;
  const [username, realm, nonce, uri, response] = ['username', 'realm', 'nonce', 'uri', 'response'].map(get);
  if (username === null || realm === null || nonce === null || uri === null || response === null) return null;
  const qop = get('qop');
  const nc = get('nc');
  const cnonce = get('cnonce');
  if (qop !== null && (nc === null || cnonce === null)) return null;
  return { username, realm, nonce, uri, response, algorithm: get('algorithm'), qop, nc, cnonce, opaque: get('opaque'), params };
}

/** The algorithm named by credentials: absent means MD5 (RFC 7616 §3.3); names compare case-insensitively. */
export function algorithmOf(name: string | null): DigestAlgorithm | null {
  if (name === null) return 'MD5';
  const u = name.toUpperCase();
  return u === 'MD5' || u === 'SHA-256' ? u : null;
}

export function hashHex(alg: DigestAlgorithm, text: string): string {
  return createHash(alg === 'MD5' ? 'md5' : 'sha256').update(text, 'utf8').digest('hex');
}

/** H(A1) with A1 = username ":" realm ":" password (RFC 7616 §3.4.2, non-session algorithms). */
export function ha1(alg: DigestAlgorithm, username: string, realm: string, password: string): string {
  return hashHex(alg, `${username}:${realm}:${password}`);
}

/**
 * The expected `response` (RFC 7616 §3.4.1): KD(HA1, nonce:nc:cnonce:qop:HA2) for qop=auth, or
 * the RFC 2069 form KD(HA1, nonce:HA2) without qop (RFC 2617 §3.2.2.1). HA2 = H(method ":" uri)
 * (qop=auth, §3.4.3), with the request's method (RFC 3261 §22.4).
 */
export function digestResponse(p: {
  algorithm: DigestAlgorithm; ha1: string; method: string; uri: string; nonce: string;
  qop?: string | null; nc?: string | null; cnonce?: string | null;
}): string {
  const ha2 = hashHex(p.algorithm, `${p.method}:${p.uri}`);
  const mid = p.qop ? `${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}` : p.nonce;
  return hashHex(p.algorithm, `${p.ha1}:${mid}:${ha2}`);
}

/** Constant-time comparison of the credentials' response with the expected one (hex, any case). */
export function responseMatches(c: DigestCredentials, alg: DigestAlgorithm, userHa1: string, method: string): boolean {
  const expected = Buffer.from(digestResponse({ algorithm: alg, ha1: userHa1, method, uri: c.uri, nonce: c.nonce, qop: c.qop, nc: c.nc, cnonce: c.cnonce }));
  const given = Buffer.from(c.response.toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A quoted-string (RFC 3261 §25.1). */
function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * One challenge value (RFC 3261 §25.1 `challenge`, RFC 7616 §3.3): realm, nonce, opaque, the
 * algorithm, qop="auth" (auth-int is not offered), and stale=true when the previous credentials
 * were right but their nonce no longer usable.
 */
export function buildChallenge(p: { realm: string; nonce: string; opaque: string; algorithm: DigestAlgorithm; stale?: boolean }): string {
  let v = `Digest realm=${quote(p.realm)}, nonce=${quote(p.nonce)}, opaque=${quote(p.opaque)}, algorithm=${p.algorithm}, qop="auth"`;
  if (p.stale) v += ', stale=true';
  return v;
}

/** The order of preference RFC 8760 §2.3 asks for: SHA-256, then MD5 for phones without it. */
export const DEFAULT_ALGORITHMS: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'];

/**
 * The challenges to send, one per algorithm in order of preference (RFC 8760 §2.3, RFC 7616
 * §3.7), with the same nonce. Each goes on its own header line (RFC 3261 §20.44, §20.27 allow several).
 */
export function buildChallenges(p: { realm: string; nonce: string; opaque: string; stale?: boolean; algorithms?: readonly DigestAlgorithm[] }): string[] {
  return (p.algorithms ?? DEFAULT_ALGORITHMS).map((algorithm) => buildChallenge({ ...p, algorithm }));
}
