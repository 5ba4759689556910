import { getParam, unquote, type Params } from '../sip/params.js';

/**
 * The UA instance a Contact names (RFC 5626 §4.1, RFC 5627 §4.1): its `+sip.instance` URN and
 * `reg-id`. A registrar keys the binding of such a Contact by instance-id and reg-id within the
 * AOR, not by the Contact URI (RFC 5626 §6; RFC 5627 §5.1), so a phone that comes back from a
 * new address replaces its binding instead of adding one.
 */
export interface InstanceId {
  /** The URN in its comparison form (see `instanceUrn`). */
  instance: string;
  regId: number | undefined;
}

/** reg-id = 1*DIGIT, from 1 to 2^31-1 (RFC 5626 §13). */
const MAX_REG_ID = 2 ** 31 - 1;

/**
 * Reads `+sip.instance` and `reg-id` from a Contact's header parameters: null when there is no
 * instance (then the Contact URI is the key, RFC 3261 §10.3, and a reg-id is ignored: RFC 5626 §6
 * keys a flow by instance-id and reg-id together); 'bad' when the reg-id is out of its grammar
 * (400).
 */
export function instanceIdOf(params: Params): InstanceId | null | 'bad' {
  const raw = getParam(params, '+sip.instance');
  const instance = raw ? instanceUrn(raw) : null;
  if (instance === null) return null;
  const r = getParam(params, 'reg-id');
  if (r === undefined) return { instance, regId: undefined };
  if (r === null || !/^\d{1,10}$/.test(r)) return 'bad';
  const regId = Number(r);
  return regId >= 1 && regId <= MAX_REG_ID ? { instance, regId } : 'bad';
}

/**
 * The instance-id of a `+sip.instance` value (`"<urn:uuid:...>"`, a quoted string holding the URN
 * in angle brackets, RFC 5626 §4.1) in the form two equal URNs share: "urn" and the namespace id
 * in lower case, %-escapes in upper case (RFC 8141 §3.1), and a UUID's hex digits in lower case
 * (they are case-insensitive, RFC 4122 §3). Anything that is not a URN is no instance-id (null).
 */
export function instanceUrn(value: string): string | null {
  let v = unquote(value.trim()).trim();
  if (v.startsWith('<') && v.endsWith('>')) v = v.slice(1, -1).trim();
  // NSS: pchar and "/" (RFC 8141 §2), so the value can be listed back in quotes as it is.
  const m = /^urn:([a-z0-9][a-z0-9-]{0,31}):([a-z0-9\-._~!$&'()*+,;=:@/%]+)$/i.exec(v);
  if (!m) return null;
  const nid = m[1]!.toLowerCase();
  const nss = nid === 'uuid' ? m[2]!.toLowerCase() : m[2]!.replace(/%[0-9a-f]{2}/gi, (e) => e.toUpperCase());
  return `urn:${nid}:${nss}`;
}

/**
 * The key of an instance's binding within its AOR. It starts with '<', which no Contact URI key
 * (scheme first, `contactKey`) does, so the two kinds never meet.
 */
export function instanceKey(instance: string, regId: number | undefined): string {
  return regId === undefined ? `<${instance}>` : `<${instance}>;reg-id=${regId}`;
}

/** The Contact parameters a 200 lists for an instance's binding, so the UA finds its own (RFC 5626 §6). */
export function instanceParams(instance: string | undefined, regId: number | undefined): string {
  if (instance === undefined) return '';
  return `;+sip.instance="<${instance}>"${regId !== undefined ? `;reg-id=${regId}` : ''}`;
}
