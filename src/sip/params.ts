import { indexOutside } from './split.js';

/**
 * Generic parameters (`;name=value` or `;name`, RFC 3261 §25.1 generic-param / uri-parameter).
 * Kept as an ordered list so unknown parameters survive a round trip; names compare
 * case-insensitively (§19.1.4, §20).
 */
export type Params = ReadonlyArray<readonly [name: string, value: string | null]>;

/** Parses the text after the first ';' (e.g. "branch=z9hG4bK1;rport"). Quoted values keep their quotes. */
export function parseParams(text: string): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = [];
  let i = 0;
  while (i <= text.length) {
    let end = indexOutside(text, ';', i);
    if (end < 0) end = text.length;
    const part = text.slice(i, end).trim();
    if (part) {
      const eq = part.indexOf('=');
      if (eq < 0) out.push([part, null]);
      else out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
    }
    i = end + 1;
  }
  return out;
}

export function formatParams(params: Params): string {
  let s = '';
  for (const [n, v] of params) s += v === null ? `;${n}` : `;${n}=${v}`;
  return s;
}

/** The value of a parameter: undefined when absent, null when present without a value. */
export function getParam(params: Params, name: string): string | null | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of params) if (n.toLowerCase() === lower) return v;
  return undefined;
}

/** A copy with `name` set (replacing in place, or appended). */
export function setParam(params: Params, name: string, value: string | null): Array<[string, string | null]> {
  const lower = name.toLowerCase();
  const out = params.map(([n, v]) => [n, v] as [string, string | null]);
  const i = out.findIndex(([n]) => n.toLowerCase() === lower);
  if (i >= 0) out[i] = [out[i]![0], value];
  else out.push([name, value]);
  return out;
}

export function removeParam(params: Params, name: string): Array<[string, string | null]> {
  const lower = name.toLowerCase();
  return params.filter(([n]) => n.toLowerCase() !== lower).map(([n, v]) => [n, v] as [string, string | null]);
}

/** Removes the quotes and backslash escapes of a quoted-string (§25.1), or returns the token as is. */
export function unquote(s: string): string {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return s.slice(1, -1).replace(/\\(.)/g, '$1');
  return s;
}
