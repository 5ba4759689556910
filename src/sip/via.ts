import { formatParams, getParam, parseParams, type Params } from './params.js';

/** The branch prefix of RFC 3261 transactions (§8.1.1.7); its absence means an RFC 2543 peer. */
export const MAGIC_COOKIE = 'z9hG4bK';

/** One Via value (RFC 3261 §20.42): SIP/2.0/UDP host:port;params. */
export interface Via {
  readonly protocol: string;
  readonly transport: string;
  readonly host: string;
  readonly port: number | null;
  readonly params: Params;
}

const SENT_PROTOCOL = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+(.*)$/i;

export function parseVia(text: string): Via | null {
  const m = SENT_PROTOCOL.exec(text.trim());
  if (!m) return null;
  const transport = m[1]!.toUpperCase();
  const rest = m[2]!;
  const semi = rest.indexOf(';');
  const sentBy = (semi >= 0 ? rest.slice(0, semi) : rest).trim();
  let host = sentBy;
  let port: number | null = null;
  const pc = sentBy.startsWith('[') ? sentBy.indexOf(':', sentBy.indexOf(']')) : sentBy.lastIndexOf(':');
  if (pc >= 0) {
    host = sentBy.slice(0, pc).trim();
    const p = sentBy.slice(pc + 1).trim();
    if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535) return null;
    port = Number(p);
  }
  if (!host || /[\s;,]/.test(host)) return null;
  return { protocol: 'SIP/2.0', transport, host, port, params: parseParams(semi >= 0 ? rest.slice(semi + 1) : '') };
}

export function formatVia(v: Via): string {
  return `SIP/2.0/${v.transport} ${v.host}${v.port !== null ? `:${v.port}` : ''}${formatParams(v.params)}`;
}

export function viaBranch(v: Via): string | null {
  return getParam(v.params, 'branch') ?? null;
}

/** `host:port` as written in the Via (port defaulted to 5060), the "sent-by" of §17.2.3. */
export function sentBy(v: Via): string {
  return `${v.host.toLowerCase()}:${v.port ?? 5060}`;
}
