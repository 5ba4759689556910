import { randomBytes } from 'node:crypto';
import { getHeaderValues, type SipRequest } from '../sip/message.js';
import { parseUri } from '../sip/uri.js';
import { sameSipUri } from '../sip/uriEquality.js';
import { algorithmOf, buildChallenges, DEFAULT_ALGORITHMS, parseDigestCredentials, responseMatches, type DigestAlgorithm, type DigestCredentials } from './digest.js';
import { NonceStore, parseNonceCount } from './nonces.js';
import { findUser, type Users } from './users.js';

/** 'www': a registrar's 401 + WWW-Authenticate / Authorization; 'proxy': 407 + Proxy-Authenticate / Proxy-Authorization (RFC 3261 §22.2, §22.3). */
export type AuthKind = 'www' | 'proxy';

export type AuthFailure =
  | 'missing' // no credentials for our realm (§22.3: credentials for other realms are not ours)
  | 'malformed' // credentials present but unparsable, or a bad nc
  | 'unsupported' // an algorithm or qop we did not offer (-sess, auth-int, userhash)
  | 'uri-mismatch' // digest uri is not the Request-URI
  | 'unknown-user'
  | 'bad-response' // wrong password (or tampered parameters)
  | 'bad-nonce' // not issued by us (forged, or from before a restart)
  | 'stale' // ours but expired
  | 'replay'; // nc not higher than the last accepted for this nonce

/** On failure, `user` is the username the credentials claimed (null when there were none to read). */
export type AuthResult = { ok: true; user: string } | { ok: false; stale: boolean; reason: AuthFailure; user: string | null };

/** The status of a challenge of each kind (RFC 3261 §21.4.2, §21.4.8). */
export const CHALLENGE_STATUS: Readonly<Record<AuthKind, 401 | 407>> = { www: 401, proxy: 407 };
const CHALLENGE_HEADER: Record<AuthKind, string> = { www: 'WWW-Authenticate', proxy: 'Proxy-Authenticate' };
const CREDENTIALS_KEY: Record<AuthKind, string> = { www: 'authorization', proxy: 'proxy-authorization' };

export interface AuthenticatorOptions {
  users: Users;
  realm: string;
  /**
   * Offered in this order (default SHA-256, MD5), and only these are accepted. Older phones that
   * know only MD5 need it first (SIPp 3.6 answers only the topmost challenge) or alone (baresip
   * 1.x gives up on any challenge it cannot answer).
   */
  algorithms?: readonly DigestAlgorithm[];
  /** Nonce lifetime in ms (default 300 000); an older nonce gets a new challenge with stale=true. */
  nonceTtlMs?: number;
  now?: () => number;
  /** HMAC key for nonces (default random per process). */
  secret?: Buffer;
  /** Cap on tracked nonces (default 10 000). */
  maxTrackedNonces?: number;
}

/**
 * Digest authentication for the proxy and registrar (RFC 3261 §22). The caller decides which
 * requests to challenge (never ACK or CANCEL, §22.1) and whether the authenticated user may act
 * for the request's From / To (§10.3 step 3, §22.3): this object only says who the user is.
 */
export class Authenticator {
  readonly realm: string;
  readonly algorithms: readonly DigestAlgorithm[];
  private users: Users;
  private readonly nonces: NonceStore;
  /** Returned unchanged by clients (RFC 7616 §3.3); not checked, as some phones drop it. */
  private readonly opaque = randomBytes(16).toString('base64url');

  constructor(opts: AuthenticatorOptions) {
    this.realm = opts.realm;
    this.algorithms = opts.algorithms ?? DEFAULT_ALGORITHMS;
    this.users = opts.users;
    this.nonces = new NonceStore({ ttlMs: opts.nonceTtlMs, now: opts.now, secret: opts.secret, maxTracked: opts.maxTrackedNonces });
  }

  /** Swaps in a reloaded users file; nonces in flight stay valid. */
  setUsers(users: Users): void {
    this.users = users;
  }

  /**
   * Header lines for a 401 ('www') or 407 ('proxy'): one per algorithm, preferred first, with one
   * fresh nonce (RFC 8760 §2.3, RFC 7616 §3.7). `stale` when the last check said so (RFC 7616 §3.3).
   */
  challenge(kind: AuthKind, opts: { stale?: boolean } = {}): Array<[string, string]> {
    const vals = buildChallenges({ realm: this.realm, nonce: this.nonces.issue(), opaque: this.opaque, stale: opts.stale, algorithms: this.algorithms });
    return vals.map((v) => [CHALLENGE_HEADER[kind], v]);
  }

  /**
   * Checks the request's credentials. On failure, answer `challenge(kind, { stale })`. `stale`
   * is true only when the response was right for the nonce presented (the client knows the
   * password) but that nonce cannot be used: expired, replayed or not ours (RFC 2617 §3.2.1), so
   * the phone retries at once without asking its user.
   */
  check(req: SipRequest, kind: AuthKind): AuthResult {
    const values = getHeaderValues(req, CREDENTIALS_KEY[kind]);
    if (values.length === 0) return { ok: false, stale: false, reason: 'missing', user: null };
    // §22.3: several credentials lines may come, one per realm; use the one for ours.
    const parsed = values.map(parseDigestCredentials);
    const c = parsed.find((p): p is DigestCredentials => p !== null && p.realm === this.realm);
    if (!c) return { ok: false, stale: false, reason: parsed.some((p) => p !== null) ? 'missing' : 'malformed', user: null };
    const fail = (reason: AuthFailure, stale = false): AuthResult => ({ ok: false, stale, reason, user: c.username });

    const alg = algorithmOf(c.algorithm);
    if (alg === null || !this.algorithms.includes(alg)) return fail('unsupported');
    if (c.qop !== null && c.qop.toLowerCase() !== 'auth') return fail('unsupported'); // only qop=auth is offered
    if (c.params.get('userhash')?.toLowerCase() === 'true') return fail('unsupported'); // RFC 7616 §3.4.4, not offered
    // With qop, nc counts requests on this nonce (RFC 7616 §3.4); the RFC 2069 form has none and
    // is taken as nc=1, so its nonce serves once (a later reuse is answered stale).
    const nc = c.qop !== null ? parseNonceCount(c.nc!) : 1;
    if (nc === null) return fail('malformed');
    // RFC 7616 §3.4.6 / RFC 2617 §3.2.2.5: the digest-uri must name the request's target.
    if (!sameUri(c.uri, req.uri)) return fail('uri-mismatch');

    const user = findUser(this.users, c.username, this.realm);
    const userHa1 = user ? (alg === 'MD5' ? user.md5 : user.sha256) : alg === 'MD5' ? DUMMY_MD5 : DUMMY_SHA256;
    const match = responseMatches(c, alg, userHa1, req.method); // computed for unknown users too (timing)
    if (!user) return fail('unknown-user');
    if (!match) return fail('bad-response');

    const state = this.nonces.check(c.nonce);
    if (state !== 'ok') return fail(state, true);
    if (!this.nonces.accept(c.nonce, nc)) return fail('replay', true);
    return { ok: true, user: user.name };
  }

  /**
   * The request without the credentials lines for our realm: a proxy consumes the credentials it
   * checked and forwards the others, meant for proxies further on (RFC 3261 §22.3).
   */
  consumeCredentials(req: SipRequest, kind: AuthKind): SipRequest {
    const key = CREDENTIALS_KEY[kind];
    const headers = req.headers.filter((h) => h.key !== key || parseDigestCredentials(h.value)?.realm !== this.realm);
    return headers.length === req.headers.length ? req : { ...req, headers };
  }
}

const DUMMY_MD5 = '0'.repeat(32);
const DUMMY_SHA256 = '0'.repeat(64);

/**
 * Whether a digest-uri names the Request-URI (RFC 2617 §3.2.2.5): equal as SIP URIs (§19.1.4,
 * so case, parameter order and escapes do not matter), a missing port taken as the default (a
 * phone may add :5060 to one and not the other); other schemes (tel:) as text.
 */
export function sameUri(a: string, b: string): boolean {
  if (a === b) return true;
  const x = parseUri(a);
  const y = parseUri(b);
  return x !== null && y !== null && sameSipUri(x, y, { defaultPort: true });
}
