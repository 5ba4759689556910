import { lookup as dnsLookup } from 'node:dns';

/** How a name becomes an address: Node's dns.lookup (the system resolver, /etc/hosts first). */
export type LookupName = (name: string) => Promise<string>;

const systemLookup: LookupName = (name) =>
  new Promise((resolve, reject) => dnsLookup(name, { family: 4 }, (err, address) => (err ? reject(err) : resolve(address))));

/** What a lookup found, until when it holds. */
interface Cached {
  address: string | null;
  until: number;
}

export interface NameResolverOptions {
  lookup?: LookupName;
  now?: () => number;
  /** How long an address found is used without asking again (ms). */
  positiveTtlMs?: number;
  /** How long "no such name" is believed (ms): a typo is answered at once, a fixed name soon heard of. */
  negativeTtlMs?: number;
  /** Names remembered at once; the oldest go first. */
  maxCached?: number;
  /** Lookups running at once: each holds one of libuv's four pool threads, which the journal's fdatasync also needs. */
  maxInFlight?: number;
}

/**
 * Next hops named by a host name (a Route, a Request-URI of another domain) are resolved before a
 * request is forwarded: RFC 3263 reduced to an address lookup (no NAPTR or SRV; UDP, the port given
 * or 5060). A name that does not resolve is then an answer at once, as a transport error is (§16.9:
 * as if the branch got a 503), instead of a client transaction retransmitting into nothing until
 * Timer B or F. Answers are cached, found or not, for a bounded time and number of names, and the
 * lookups running at once are bounded: a sender cannot make the proxy hold the resolver, or memory,
 * by naming many hosts. Beyond the bound a lookup fails at once (the request gets its answer).
 */
export class NameResolver {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<string | null>>();
  private readonly lookup: LookupName;
  private readonly now: () => number;
  private readonly positiveTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxCached: number;
  private readonly maxInFlight: number;

  constructor(opts: NameResolverOptions = {}) {
    this.lookup = opts.lookup ?? systemLookup;
    this.now = opts.now ?? Date.now;
    this.positiveTtlMs = opts.positiveTtlMs ?? 60_000;
    this.negativeTtlMs = opts.negativeTtlMs ?? 10_000;
    this.maxCached = opts.maxCached ?? 1024;
    this.maxInFlight = opts.maxInFlight ?? 2;
  }

  /** The address of `name` (host names compare case-insensitively, §19.1.4), or null when it has none. */
  resolve(name: string): Promise<string | null> {
    const key = name.toLowerCase();
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return Promise.resolve(hit.address);
    // An address found before, gone stale: used while it is asked again, so that lookups that
    // hang (a nameserver that never answers) cannot make a known name fail.
    const stale = hit?.address ?? null;
    const running = this.inFlight.get(key);
    if (running) return stale !== null ? Promise.resolve(stale) : running;
    if (this.inFlight.size >= this.maxInFlight) return Promise.resolve(stale);
    const asked = this.lookup(key).then(
      (address) => this.remember(key, address, this.positiveTtlMs),
      // A name that answered before and fails now keeps its address a little longer (served stale,
      // as RFC 8767 has resolvers do): a flaky nameserver must not cut a working trunk.
      () => this.remember(key, stale, this.negativeTtlMs),
    );
    this.inFlight.set(key, asked);
    return stale !== null ? Promise.resolve(stale) : asked;
  }

  /** An address found and still fresh, without asking. */
  cached(name: string): string | null {
    const hit = this.cache.get(name.toLowerCase());
    return hit && hit.until > this.now() ? hit.address : null;
  }

  get size(): number {
    return this.cache.size;
  }

  private remember(key: string, address: string | null, ttlMs: number): string | null {
    this.inFlight.delete(key);
    this.cache.delete(key);
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { address, until: this.now() + ttlMs });
    return address;
  }
}
