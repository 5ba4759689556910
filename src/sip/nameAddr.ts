import { indexOutside } from './split.js';
import { formatParams, getParam, parseParams, type Params } from './params.js';
import { parseUri, type SipUri } from './uri.js';

/**
 * A name-addr or addr-spec with its header parameters (From, To, Contact, Route, Record-Route,
 * Refer-To; RFC 3261 §20.10, §25.1). `uriText` is kept verbatim so forwarding never rewrites it.
 */
export interface NameAddr {
  readonly displayName: string | null;
  readonly uriText: string;
  readonly uri: SipUri | null;
  /** Whether the URI was written inside <...>. */
  readonly angle: boolean;
  readonly params: Params;
}

export function parseNameAddr(text: string): NameAddr | null {
  const s = text.trim();
  if (!s) return null;
  const lt = indexOutside(s, '<');
  if (lt >= 0) {
    const gt = s.indexOf('>', lt + 1);
    if (gt < 0) return null;
    const display = s.slice(0, lt).trim();
    const uriText = s.slice(lt + 1, gt).trim();
    const after = s.slice(gt + 1).trim();
    if (after && !after.startsWith(';')) return null;
    return {
      displayName: display || null,
      uriText,
      uri: parseUri(uriText),
      angle: true,
      params: parseParams(after.slice(1)),
    };
  }
  // addr-spec: ';' after the URI starts header parameters (§20.10), so the URI ends there.
  const semi = s.indexOf(';');
  const uriText = semi >= 0 ? s.slice(0, semi).trim() : s;
  if (/\s/.test(uriText)) return null;
  return {
    displayName: null,
    uriText,
    uri: parseUri(uriText),
    angle: false,
    params: parseParams(semi >= 0 ? s.slice(semi + 1) : ''),
  };
}

export function formatNameAddr(n: NameAddr): string {
  const uriPart = n.angle || n.displayName !== null ? `<${n.uriText}>` : n.uriText;
  const disp = n.displayName !== null ? `${n.displayName} ` : '';
  return `${disp}${uriPart}${formatParams(n.params)}`;
}

/**
 * The `tag` parameter of a From or To value (§19.3), or null. Read on every message, so it looks
 * only at the header parameters (after the `>` of a name-addr, or after the addr-spec) without
 * parsing the URI.
 */
export function tagOf(value: string | undefined): string | null {
  if (value === undefined) return null;
  const lt = indexOutside(value, '<');
  const from = lt >= 0 ? value.indexOf('>', lt) : 0;
  if (from < 0) return null;
  const params = value.indexOf(';', from);
  if (params < 0) return null;
  for (const [n, v] of parseParams(value.slice(params + 1))) if (n.toLowerCase() === 'tag') return v;
  return null;
}
