import { getHeader, getHeaderValues, type SipRequest } from '../sip/message.js';
import type { MessageInfo } from '../sip/info.js';
import { parseNameAddr } from '../sip/nameAddr.js';
import { getParam } from '../sip/params.js';
import { bareHost, parseUri, uriParam, type SipUri } from '../sip/uri.js';
import { destinationOf } from './nextHop.js';
import { instanceIdOf, instanceKey, instanceParams } from './instanceId.js';

/** One binding of an address-of-record to a contact address (RFC 3261 §10.3). */
export interface Binding {
  /** Contact URI as the UA wrote it: the Request-URI of requests forwarded to it. */
  readonly contact: string;
  /**
   * Its identity within the AOR: the instance's key when the Contact had `+sip.instance`
   * (RFC 5626 §6), else the Contact URI's (`contactKey`, §10.3).
   */
  readonly key: string;
  /** `+sip.instance` (comparison form) and `reg-id`, when the Contact had them (src/proxy/instanceId.ts). */
  readonly instance?: string | undefined;
  readonly regId?: number | undefined;
  readonly q: number;
  readonly expiresAt: number;
  readonly callId: string;
  readonly cseq: number;
  /** Where the REGISTER came from (for diagnostics and NAT handling). */
  readonly source: string;
}

export interface RegistrarPolicy {
  defaultExpires: number;
  minExpires: number;
  maxExpires: number;
}

export const DEFAULT_REGISTRAR_POLICY: RegistrarPolicy = { defaultExpires: 3600, minExpires: 60, maxExpires: 7200 };

/**
 * The longest address-of-record a REGISTER may create (Kamailio's usrloc keeps at most 256 too): a
 * location entry lives as long as its AOR is known, so its size must not be the sender's choice.
 */
export const MAX_AOR_LENGTH = 256;

/** §20.19 / §20.10: a malformed Expires or `expires` parameter SHOULD count as 3600. */
const MALFORMED_EXPIRES = 3600;
/** §20.19: a delta-seconds value over 2^32-1 is taken as 2^32-1. */
const MAX_DELTA_SECONDS = 2 ** 32 - 1;

/** An Expires header or Contact `expires` parameter as seconds (delta-seconds = 1*DIGIT, §25.1). */
export function deltaSeconds(text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return MALFORMED_EXPIRES;
  return t.length > 10 ? MAX_DELTA_SECONDS : Math.min(Number(t), MAX_DELTA_SECONDS);
}

/** One Contact of a REGISTER: the binding it names (by `key`) and what to make of it. */
export interface ContactUpdate {
  key: string;
  contact: string;
  q: number;
  /** Seconds; 0 removes the binding. */
  expires: number;
  instance?: string | undefined;
  regId?: number | undefined;
}

/** What a REGISTER asks for, once checked: the change to apply to one AOR's bindings. */
export type RegistrationPlan =
  | { ok: true; user: string; aor: string; removeAll: boolean; updates: ContactUpdate[] }
  | { ok: false; status: number; reason?: string; headers?: Array<[string, string]> };

/**
 * Reads a REGISTER (§10.3 steps 5-6): the AOR from To, each Contact with its expiry (Contact
 * `expires` parameter, else the Expires header, else the default), Min-Expires (423) and the
 * `Contact: *` form. Call-ID/CSeq ordering (step 7) needs the current bindings: see `applyPlan`.
 */
export function planRegistration(
  req: SipRequest,
  policy: RegistrarPolicy,
  isLocalDomain: (u: SipUri) => boolean,
  isOwnAddress: (host: string, port: number) => boolean = () => false,
): RegistrationPlan {
  const to = parseNameAddr(getHeader(req, 'to') ?? '');
  const aorUri = to?.uri;
  if (!aorUri || aorUri.user === null) return { ok: false, status: 404, reason: 'Address-of-record not valid' };
  if (!isLocalDomain(aorUri)) return { ok: false, status: 404, reason: 'Not our domain' };
  const user = decodeURIComponentSafe(aorUri.user);
  const aor = `${aorUri.scheme}:${aorUri.user}@${bareHost(aorUri.host)}`;
  if (aor.length > MAX_AOR_LENGTH) return { ok: false, status: 400, reason: 'Address-of-record too long' };
  const expiresHeader = getHeader(req, 'expires');
  const headerExpires = expiresHeader === undefined ? undefined : deltaSeconds(expiresHeader);
  const contacts = getHeaderValues(req, 'contact');
  if (contacts.some((c) => c.trim() === '*')) {
    // §10.3 step 6: "*" only alone and only with Expires: 0.
    if (contacts.length !== 1 || headerExpires !== 0) {
      return { ok: false, status: 400, reason: 'Contact * needs Expires: 0 and no other Contact' };
    }
    return { ok: true, user, aor, removeAll: true, updates: [] };
  }
  const updates: ContactUpdate[] = [];
  for (const text of contacts) {
    const na = parseNameAddr(text);
    if (!na?.uri) return { ok: false, status: 400, reason: 'Bad Contact' };
    const pe = getParam(na.params, 'expires');
    // A Contact's own `expires` (even a malformed one) wins over the Expires header (§10.2.1.1).
    let expires = pe !== undefined ? deltaSeconds(pe ?? '') : (headerExpires ?? policy.defaultExpires);
    // A contact that is this proxy would bring every request for the AOR back to it (a loop that
    // forks again on each pass): refused, though removing one (left from before) is fine.
    const target = destinationOf(na.uri);
    if (expires > 0 && isOwnAddress(target.host, target.port)) return { ok: false, status: 403, reason: 'Contact is this proxy' };
    if (expires > 0 && expires < policy.minExpires) {
      return { ok: false, status: 423, headers: [['Min-Expires', String(policy.minExpires)]] };
    }
    expires = Math.min(expires, policy.maxExpires);
    const qText = getParam(na.params, 'q');
    const q = qText ? Number(qText) : 1;
    if (!Number.isFinite(q) || q < 0 || q > 1) return { ok: false, status: 400, reason: 'Bad q-value' };
    const id = instanceIdOf(na.params);
    if (id === 'bad') return { ok: false, status: 400, reason: 'Bad reg-id' };
    if (id === null) updates.push({ key: contactKey(na.uri), contact: na.uriText, q, expires });
    else updates.push({ key: instanceKey(id.instance, id.regId), contact: na.uriText, q, expires, instance: id.instance, regId: id.regId });
  }
  return { ok: true, user, aor, removeAll: false, updates };
}

/**
 * The comparison key of a contact URI (§19.1.4, reduced): scheme, user, host case-insensitively,
 * port with its default, transport. Two Contacts with the same key are the same binding.
 */
export function contactKey(u: SipUri): string {
  const t = (uriParam(u, 'transport') ?? 'udp').toLowerCase();
  return `${u.scheme}:${u.user ?? ''}@${bareHost(u.host)}:${u.port ?? 5060};${t}`;
}

/** `contactKey` of a Contact URI as text; text that does not parse is its own key. */
export function contactKeyOfText(text: string): string {
  const u = parseUri(text);
  return u ? contactKey(u) : text;
}

/**
 * The Contact URI key of a binding: its key, unless the binding is an instance's (then its key
 * names the instance, and the URI's key is worked out from the contact).
 */
export function bindingUriKey(b: Pick<Binding, 'key' | 'contact' | 'instance'>): string {
  return b.instance === undefined ? b.key : contactKeyOfText(b.contact);
}

/**
 * The Contact value listed in a 200 OK for one binding (§10.3 step 8), with its instance and
 * reg-id when it has them (as Kamailio lists them), so a UA tells its own binding by them.
 */
export function bindingContact(b: Binding, now: number): string {
  const left = Math.max(0, Math.round((b.expiresAt - now) / 1000));
  return `<${b.contact}>;expires=${left}${b.q !== 1 ? `;q=${b.q}` : ''}${instanceParams(b.instance, b.regId)}`;
}

export function requestIdentity(info: MessageInfo): { callId: string; cseq: number } {
  return { callId: info.callId, cseq: info.cseq.seq };
}

/** A URI user part %-decoded (§19.1.4), as the location service keys it; undecodable text stays as written. */
export function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseAorUri(text: string): SipUri | null {
  return parseUri(text);
}
