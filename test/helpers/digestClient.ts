// The phone's side of digest authentication (RFC 7616 §3.4, qop=auth), written with node:crypto
// alone so the tests do not check src/auth against itself.
import { createHash, randomBytes } from 'node:crypto';

export type Algorithm = 'MD5' | 'SHA-256';

export interface Challenge {
  realm: string;
  nonce: string;
  opaque?: string;
  qop?: string;
  stale: boolean;
  algorithm: string;
}

const hash = (alg: Algorithm, s: string) => createHash(alg === 'MD5' ? 'md5' : 'sha256').update(s).digest('hex');

/** Every challenge of a 401/407 (WWW-Authenticate / Proxy-Authenticate lines), in order. */
export function challengesOf(response: string): Challenge[] {
  const out: Challenge[] = [];
  for (const line of response.split('\r\n\r\n')[0]!.split('\r\n')) {
    const m = /^(?:WWW|Proxy)-Authenticate:\s*Digest\s+(.*)$/i.exec(line);
    if (!m) continue;
    const p = new Map<string, string>();
    for (const [, k, q, t] of m[1]!.matchAll(/([a-z]+)=(?:"([^"]*)"|([^,\s]+))/gi)) p.set(k!.toLowerCase(), q ?? t!);
    out.push({
      realm: p.get('realm')!,
      nonce: p.get('nonce')!,
      ...(p.has('opaque') ? { opaque: p.get('opaque')! } : {}),
      ...(p.has('qop') ? { qop: p.get('qop')! } : {}),
      stale: p.get('stale')?.toLowerCase() === 'true',
      algorithm: p.get('algorithm') ?? 'MD5',
    });
  }
  return out;
}

/** The challenge for `alg`; throws when the response offers none. */
export function challengeFor(response: string, alg: Algorithm): Challenge {
  const c = challengesOf(response).find((x) => x.algorithm.toUpperCase() === alg);
  if (!c) throw new Error(`no ${alg} challenge in:\n${response}`);
  return c;
}

/** An Authorization / Proxy-Authorization value answering `ch` for one request. */
export function credentials(o: { alg: Algorithm; ch: Challenge; user: string; password: string; method: string; uri: string; nc?: number; cnonce?: string }): string {
  const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = o.cnonce ?? randomBytes(8).toString('hex');
  const ha1 = hash(o.alg, `${o.user}:${o.ch.realm}:${o.password}`);
  const ha2 = hash(o.alg, `${o.method}:${o.uri}`);
  const response = hash(o.alg, `${ha1}:${o.ch.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${o.user}", realm="${o.ch.realm}", nonce="${o.ch.nonce}", uri="${o.uri}", response="${response}", ` +
    `algorithm=${o.alg}, qop=auth, nc=${nc}, cnonce="${cnonce}"${o.ch.opaque !== undefined ? `, opaque="${o.ch.opaque}"` : ''}`;
}
