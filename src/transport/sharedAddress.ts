import { internHost } from '../sip/hostIntern.js';
import type { Address } from './viaAddressing.js';

/**
 * One shared object per peer address the proxy keeps: a server transaction's reply address
 * (§18.2.2) and a client transaction's destination (§16.6 step 7). Every transaction keeps its
 * peer's address for the 32 s it lingers (64*T1); on a LAN the peers are a few phones, so a
 * fresh `{ host, port }` per transaction was tens of thousands of copies of a handful of
 * addresses for V8's mark-compact to visit (BENCHMARKS.md, finding 40). Nothing changes an
 * address once made (they are read-only).
 *
 * A host cut from a message is looked up as it is (one Map lookup on a message's path); only a
 * new address takes the shared copy of its host (internHost), which becomes the table's key, so
 * the table never keeps a message's text. Bounded like the hosts: a flood from many addresses
 * only empties the tables.
 */

/** A destination: an address and the transport to reach it (RFC 3263 reduced to a LAN's). */
export interface SharedDestination extends Address {
  transport: 'udp' | 'tcp';
}

/** Per table. */
export const MAX_SHARED_ADDRESSES = 4096;

/** host -> port -> the shared object; one table per kind, so each keeps one object shape. */
class AddressTable<T> {
  private readonly byHost = new Map<string, Map<number, T>>();
  private count = 0;

  constructor(private readonly make: (host: string, port: number) => T) {}

  get(host: string, port: number): T {
    let byPort = this.byHost.get(host);
    const known = byPort?.get(port);
    if (known !== undefined) return known;
    if (this.count >= MAX_SHARED_ADDRESSES) {
      this.byHost.clear();
      this.count = 0;
      byPort = undefined;
    }
    const own = internHost(host);
    if (byPort === undefined) this.byHost.set(own, (byPort = new Map()));
    const made = this.make(own, port);
    byPort.set(port, made);
    this.count++;
    return made;
  }

  get size(): number {
    return this.count;
  }
}

const addresses = new AddressTable<Address>((host, port) => ({ host, port }));
const udpDestinations = new AddressTable<SharedDestination>((host, port) => ({ host, port, transport: 'udp' }));
const tcpDestinations = new AddressTable<SharedDestination>((host, port) => ({ host, port, transport: 'tcp' }));

/** The shared `{ host, port }` for a host and a port. */
export function sharedAddress(host: string, port: number): Address {
  return addresses.get(host, port);
}

/** The shared `{ host, port, transport }` for a host, a port and a transport. */
export function sharedDestination(host: string, port: number, transport: SharedDestination['transport']): SharedDestination {
  return (transport === 'tcp' ? tcpDestinations : udpDestinations).get(host, port);
}

/** How many shared objects the tables hold (for tests). */
export function sharedAddressCount(): { addresses: number; destinations: number } {
  return { addresses: addresses.size, destinations: udpDestinations.size + tcpDestinations.size };
}
