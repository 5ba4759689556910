import { formatParams, getParam, parseParams, type Params } from './params.js';

/**
 * A SIP or SIPS URI (RFC 3261 §19.1): sip:user:password@host:port;uri-parameters?headers.
 * `host` keeps IPv6 brackets. Parsing never throws: it returns null for what is not a SIP URI.
 */
export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  readonly user: string | null;
  readonly password: string | null;
  readonly host: string;
  readonly port: number | null;
  readonly params: Params;
  /** `?h=v&h2=v2` part without the '?', or null. */
  readonly headers: string | null;
}

const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+)$/;

// The Request-URI is read at each step of §16.3-§16.6 (validation, Route preprocessing,
// authorization, the target set); a parse is immutable, so the last one is kept and handed out
// again for the same text.
let lastText: string | undefined;
let lastUri: SipUri | null = null;

export function parseUri(text: string): SipUri | null {
  if (text === lastText) return lastUri;
  const uri = parseUriText(text);
  lastText = text;
  lastUri = uri;
  return uri;
}

function parseUriText(text: string): SipUri | null {
  const s = text.trim();
  const colon = s.indexOf(':');
  if (colon < 0) return null;
  const scheme = s.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') return null;
  let rest = s.slice(colon + 1);
  // '@' is never allowed unescaped outside userinfo (§25.1), so the first one ends the userinfo.
  let user: string | null = null;
  let password: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pc = userinfo.indexOf(':');
    if (pc >= 0) {
      user = userinfo.slice(0, pc);
      password = userinfo.slice(pc + 1);
    } else user = userinfo;
    if (user === '') return null;
  }
  let headers: string | null = null;
  const q = rest.indexOf('?');
  if (q >= 0) {
    headers = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let paramText = '';
  const semi = rest.indexOf(';');
  if (semi >= 0) {
    paramText = rest.slice(semi + 1);
    rest = rest.slice(0, semi);
  }
  let host = rest;
  let port: number | null = null;
  const portColon = rest.startsWith('[') ? rest.indexOf(':', rest.indexOf(']')) : rest.indexOf(':');
  if (portColon >= 0) {
    host = rest.slice(0, portColon);
    const p = rest.slice(portColon + 1);
    if (!/^\d{1,5}$/.test(p)) return null;
    port = Number(p);
    if (port < 1 || port > 65535) return null;
  }
  if (!HOST.test(host)) return null;
  return { scheme, user, password, host, port, params: parseParams(paramText), headers };
}

export function formatUri(u: SipUri): string {
  let s = `${u.scheme}:`;
  if (u.user !== null) s += u.password !== null ? `${u.user}:${u.password}@` : `${u.user}@`;
  s += u.host;
  if (u.port !== null) s += `:${u.port}`;
  s += formatParams(u.params);
  if (u.headers !== null) s += `?${u.headers}`;
  return s;
}

export function uriParam(u: SipUri, name: string): string | null | undefined {
  return getParam(u.params, name);
}

/** Host without IPv6 brackets, lower-cased: the form used to compare and to open sockets. */
export function bareHost(host: string): string {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  // Case-insensitive (§19.1.4), and "example.com." (absolute) is "example.com".
  return (h.endsWith('.') ? h.slice(0, -1) : h).toLowerCase();
}

/** The default port of a scheme over UDP/TCP (5060) or TLS (5061), §19.1.2. */
export function defaultPort(u: SipUri): number {
  return u.scheme === 'sips' ? 5061 : 5060;
}

/** `sip:user@host` — the address-of-record form: no port, parameters or headers (§10.3 step 5). */
export function aorOf(u: SipUri): string {
  return `${u.scheme}:${u.user !== null ? `${u.user}@` : ''}${u.host.toLowerCase()}`;
}
