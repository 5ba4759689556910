import { headerKey, isListHeader } from './headerNames.js';
import { splitList } from './split.js';

/** One header field line: `name` as written (kept for forwarding unchanged), `key` for lookup. */
export interface SipHeader {
  readonly name: string;
  readonly key: string;
  readonly value: string;
}

interface MessageBase {
  readonly headers: readonly SipHeader[];
  readonly body: Buffer;
}

/** A SIP request (RFC 3261 §7.1). `uri` is the Request-URI text, parsed on demand. */
export interface SipRequest extends MessageBase {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
}

/** A SIP response (RFC 3261 §7.2). */
export interface SipResponse extends MessageBase {
  readonly kind: 'response';
  readonly status: number;
  readonly reason: string;
}

export type SipMessage = SipRequest | SipResponse;

export function header(name: string, value: string): SipHeader {
  return { name, key: headerKey(name), value };
}

/** The value of the first header with this key (lower-case long form), or undefined. */
export function getHeader(msg: MessageBase, key: string): string | undefined {
  const hs = msg.headers;
  for (let i = 0; i < hs.length; i++) if (hs[i]!.key === key) return hs[i]!.value;
  return undefined;
}

/** Every value of a header: all its lines, each list header split at its separating commas. */
export function getHeaderValues(msg: MessageBase, key: string): string[] {
  const out: string[] = [];
  const split = isListHeader(key);
  for (const h of msg.headers) {
    if (h.key !== key) continue;
    if (split) for (const v of splitList(h.value)) out.push(v);
    else out.push(h.value);
  }
  return out;
}

export function hasHeader(msg: MessageBase, key: string): boolean {
  return getHeader(msg, key) !== undefined;
}

export function countHeaderLines(msg: MessageBase, key: string): number {
  let n = 0;
  for (const h of msg.headers) if (h.key === key) n++;
  return n;
}

/** A copy of the header list with every line of `key` removed. */
export function withoutHeader(headers: readonly SipHeader[], key: string): SipHeader[] {
  return headers.filter((h) => h.key !== key);
}

/** Replaces the first line of `key` (keeping its position and written name) or appends one. */
export function withHeader(headers: readonly SipHeader[], name: string, value: string): SipHeader[] {
  const key = headerKey(name);
  const out = headers.slice();
  const i = out.findIndex((h) => h.key === key);
  if (i >= 0) out[i] = { name: out[i]!.name, key, value };
  else out.push({ name, key, value });
  return out;
}

/**
 * Removes the first value of a list header (the topmost Via or Route, §16.7 step 3, §16.4).
 * When several values share one line, the line keeps the rest.
 */
export function withoutFirstValue(headers: readonly SipHeader[], key: string): SipHeader[] {
  const i = headers.findIndex((h) => h.key === key);
  if (i < 0) return headers.slice();
  const h = headers[i]!;
  const values = splitList(h.value);
  const out = headers.slice();
  if (values.length <= 1) out.splice(i, 1);
  else out[i] = { name: h.name, key, value: values.slice(1).join(', ') };
  return out;
}

/** The first value of a list header (e.g. the top Via), without splitting the whole line more than needed. */
export function firstValue(msg: MessageBase, key: string): string | undefined {
  const v = getHeader(msg, key);
  if (v === undefined) return undefined;
  if (!isListHeader(key)) return v;
  const all = splitList(v);
  return all[0];
}

/** Inserts a header line at the top of the header list (Via and Record-Route go first, §16.6). */
export function prependHeader(headers: readonly SipHeader[], name: string, value: string): SipHeader[] {
  return [header(name, value), ...headers];
}
