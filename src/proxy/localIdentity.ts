import { networkInterfaces } from 'node:os';
import { bareHost, type SipUri } from '../sip/uri.js';

/**
 * Who "we" are (RFC 3261 §16.4, §16.5): the address we listen on, and the hosts and domains whose
 * Request-URIs this proxy is responsible for. The first domain is the canonical one for AORs.
 */
export class LocalIdentity {
  readonly hosts: ReadonlySet<string>;
  readonly port: number;
  readonly host: string;
  readonly domain: string;

  constructor(opts: { host: string; port: number; domains?: readonly string[]; extraAddresses?: readonly string[] }) {
    this.host = opts.host;
    this.port = opts.port;
    const domains = (opts.domains ?? []).map(bareHost);
    this.domain = domains[0] ?? bareHost(opts.host);
    this.hosts = new Set([bareHost(opts.host), ...domains, ...(opts.extraAddresses ?? []).map(bareHost)]);
  }

  /**
   * The domain part is one of ours (§16.5: the proxy is responsible for it): our host or a served
   * domain, with no port or our port (as Kamailio's `myself`; another port is another server).
   */
  isLocalDomain(uri: SipUri): boolean {
    return this.hosts.has(bareHost(uri.host)) && (uri.port === null || uri.port === this.port);
  }

  /**
   * The URI addresses this proxy itself rather than a user it serves: a Route or Record-Route
   * value it wrote (§16.4), or a Request-URI like `sip:proxy-ip:port`.
   */
  isOwnUri(uri: SipUri): boolean {
    return this.hosts.has(bareHost(uri.host)) && (uri.port ?? 5060) === this.port;
  }

  /** A URI as this proxy writes it into a Record-Route (§16.6 step 4): ours, without a user part. */
  isOwnRecordRouteUri(uri: SipUri): boolean {
    return uri.user === null && this.isOwnUri(uri);
  }

  /** A Via sent-by that is ours: the proxy put this Via there. */
  isOwnSentBy(host: string, port: number | null): boolean {
    return bareHost(host) === bareHost(this.host) && (port ?? 5060) === this.port;
  }

  /**
   * A request sent to this address reaches this proxy's own socket: a Contact or a target there
   * would send the request back to us (§16.3 loops; forked to several such contacts, each pass
   * forks again). A wildcard address, and when we listen on one, any address of this machine.
   */
  isOwnAddress(host: string, port: number): boolean {
    if (port !== this.port) return false;
    const h = bareHost(host);
    if (this.hosts.has(h) || h === '0.0.0.0' || h === '::') return true;
    return this.listensOnWildcard && this.machineAddresses().has(h);
  }

  private get listensOnWildcard(): boolean {
    const h = bareHost(this.host);
    return h === '0.0.0.0' || h === '::';
  }

  private machineAddressSet: Set<string> | null = null;
  private machineAddresses(): Set<string> {
    if (!this.machineAddressSet) {
      this.machineAddressSet = new Set(['127.0.0.1', '::1']);
      for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) this.machineAddressSet.add(bareHost(a.address));
    }
    return this.machineAddressSet;
  }

  /** The Record-Route value, loose-routing (§16.6 step 4; RFC 3261 §19.1.1 `lr`). */
  get recordRoute(): string {
    return `<sip:${this.hostPort};lr>`;
  }

  get hostPort(): string {
    const h = this.host.includes(':') && !this.host.startsWith('[') ? `[${this.host}]` : this.host;
    return `${h}:${this.port}`;
  }
}
