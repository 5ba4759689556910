import { getHeader, type SipRequest } from '../sip/message.js';
import type { MessageInfo } from '../sip/info.js';
import { parseNameAddr } from '../sip/nameAddr.js';
import { bareHost, parseUri, type SipUri } from '../sip/uri.js';
import { CHALLENGE_STATUS, type AuthFailure, type AuthKind, type Authenticator } from '../auth/authenticator.js';
import type { Logger } from '../util/logger.js';
import { decodeURIComponentSafe } from './registrar.js';
import type { LocalIdentity } from './localIdentity.js';
import type { Rejection } from './validate.js';
import { routedByUs } from './routePreprocess.js';

/** What authorization needs of the flood guard (src/security/sourceGuard.ts). */
export interface AuthFailureCounter {
  authFailed(source: string, user: string | null): void;
  authSucceeded(source: string, user: string): void;
  userLocked(user: string, source: string): boolean;
}

export interface AuthorizationContext {
  authenticator: Authenticator;
  me: LocalIdentity;
  guard?: AuthFailureCounter;
  /** The datagram's source address (not what its Via claims): failures are counted against it. */
  source: string;
  log?: Logger;
}

export type Authorization = { ok: true; request: SipRequest } | { ok: false; rejection: Rejection };

/**
 * Failures that are a wrong guess, counted towards a ban. Not counted: no credentials yet (every
 * phone's first request), credentials we cannot read (they may be another realm's, in a form our
 * parser refuses), a right response on a nonce that is stale, replayed or from before a restart
 * (the phone knows the password and retries on the fresh nonce), and a digest uri that is not
 * the Request-URI (400, its response never checked).
 */
const GUESSES: ReadonlyMap<AuthFailure, string> = new Map<AuthFailure, string>([
  ['bad-response', 'wrong password'],
  ['unknown-user', 'no such user in the users file'],
  ['unsupported', 'an algorithm or qop that was not offered'],
]);

/**
 * Who may use this proxy (RFC 3261 §22), decided for a new request once its Route set is
 * preprocessed (`routed`); credentials are checked on `received`, the request the client hashed.
 * - REGISTER for our registrar: Authorization, else 401 (§22.2); a user registers only its own
 *   address-of-record, else 403 (§10.3 step 3).
 * - Any other request whose From is our domain: Proxy-Authorization, else 407 (§22.3), and From
 *   must name the authenticated user, else 403 (Kamailio's auth_check with identity check); our
 *   realm's credentials are then consumed, others' forwarded (§22.3).
 * - From another domain, a request may only reach our own users: no open relay (403, as
 *   Kamailio's default configuration answers "Not relaying").
 * Requests inside a dialog this proxy Record-Routed (To tag, and our Route on top, as
 * Kamailio's loose_route) are not challenged: the dialog-creating request was. A To tag alone
 * proves nothing, so any other request goes through the rules above. ACK and CANCEL cannot be
 * challenged (§22.1) and are routed before this. Whatever passes has our realm's credentials
 * taken out: they are for this proxy, not for the next hop to collect (§22.3).
 */
export function authorizeRequest(received: SipRequest, routed: SipRequest, info: MessageInfo, ctx: AuthorizationContext): Authorization {
  const ruri = parseUri(routed.uri);
  if (!ruri) return { ok: true, request: routed }; // the router answers 400
  const forUs = ctx.me.isLocalDomain(ruri) && !routed.headers.some((h) => h.key === 'route');
  const pass = (): Authorization => ({ ok: true, request: ctx.authenticator.consumeCredentials(routed, 'proxy') });
  if (routed.method === 'REGISTER' && forUs) {
    return authenticate(received, routed, 'www', userOf(getHeader(received, 'to')), ctx);
  }
  if (routed.method === 'ACK' || routed.method === 'CANCEL') return pass();
  if (info.toTag !== null && routedByUs(received, ctx.me)) return pass();
  // OPTIONS to the proxy itself is a phone's keep-alive, answered by the proxy (§11.2).
  if (routed.method === 'OPTIONS' && forUs && ruri.user === null) return pass();
  const from = parseNameAddr(getHeader(received, 'from') ?? '')?.uri;
  if (!from || claimsOurDomain(from, ctx.me)) return authenticate(received, routed, 'proxy', from?.user ?? null, ctx);
  if (!forUs) return forbidden('relaying denied');
  return pass();
}

/**
 * A From that could pass for one of our users: our host or a served domain on any port, any case,
 * with or without a trailing dot. Only a From plainly elsewhere counts as a caller from another
 * domain (who may call our users unauthenticated); one that cannot be read (tel:, garbage) must
 * authenticate like our own.
 */
function claimsOurDomain(from: SipUri, me: LocalIdentity): boolean {
  return me.hosts.has(bareHost(from.host));
}

/** Checks the credentials of `kind` and that the authenticated user is `claimed` (a URI user part). */
function authenticate(received: SipRequest, routed: SipRequest, kind: AuthKind, claimed: string | null, ctx: AuthorizationContext): Authorization {
  const { authenticator, guard } = ctx;
  const r = authenticator.check(received, kind);
  // A locked user is refused right or wrong, so the answer tells a guesser nothing; not at an
  // address it has lately authenticated from (its phone; src/security/authenticatedSources.ts).
  if (r.user !== null && guard?.userLocked(r.user, ctx.source)) return forbidden('too many failed authentications');
  if (!r.ok) {
    // Credentials for another resource: a bad request, 400 (RFC 2617 §3.2.2.5, RFC 7616 §3.4.6),
    // and no guess, since the response was not even checked (nothing told of the password).
    if (r.reason === 'uri-mismatch') return { ok: false, rejection: { status: 400, reason: 'Bad Request (digest uri is not the Request-URI)' } };
    const guess = GUESSES.get(r.reason);
    if (guess !== undefined) {
      guard?.authFailed(ctx.source, r.user);
      ctx.log?.info(`authentication failed from ${ctx.source}${r.user !== null ? ` for ${r.user}` : ''}: ${guess}`);
    }
    return { ok: false, rejection: { status: CHALLENGE_STATUS[kind], headers: authenticator.challenge(kind, { stale: r.stale }) } };
  }
  guard?.authSucceeded(ctx.source, r.user);
  if (claimed === null || decodeURIComponentSafe(claimed) !== r.user) {
    return forbidden(kind === 'www' ? 'not your address-of-record' : 'From is not the authenticated user');
  }
  return { ok: true, request: kind === 'proxy' ? authenticator.consumeCredentials(routed, kind) : routed };
}

function userOf(nameAddr: string | undefined): string | null {
  return parseNameAddr(nameAddr ?? '')?.uri?.user ?? null;
}

function forbidden(why: string): Authorization {
  return { ok: false, rejection: { status: 403, reason: `Forbidden (${why})` } };
}
