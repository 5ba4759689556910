import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

export interface Candidate {
  iface: string;
  address: string;
  virtual: boolean;
  defaultRoute: boolean;
}

/** Interface name prefixes of virtual adapters (VMs, containers, tunnels): never a phone's way in. */
const VIRTUAL = /^(docker|br-|veth|virbr|vmnet|vboxnet|vnet|tun|tap|wg|zt|tailscale|cni|flannel|cali|lxc|lxd|podman|kube)/;

/** Interfaces holding the default route, read from /proc/net/route (Linux); empty elsewhere. */
function defaultRouteInterfaces(): Set<string> {
  try {
    const lines = readFileSync('/proc/net/route', 'utf8').trim().split('\n').slice(1);
    return new Set(lines.map((l) => l.trim().split(/\s+/)).filter((f) => f[1] === '00000000' && f[7] === '00000000').map((f) => f[0]!));
  } catch {
    return new Set();
  }
}

/** Every IPv4 address of this machine outside loopback, marked virtual or default-route. */
export function listCandidates(): Candidate[] {
  const def = defaultRouteInterfaces();
  const out: Candidate[] = [];
  for (const [iface, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      out.push({ iface, address: a.address, virtual: VIRTUAL.test(iface), defaultRoute: def.has(iface) });
    }
  }
  return out;
}

/**
 * The address to listen on when --host is not given: the default route's interface (not a virtual
 * adapter: the original picked a VMware address and phones could not reach it), else the first
 * physical one, else loopback.
 */
export function chooseHost(candidates: Candidate[]): string {
  const pick =
    candidates.find((c) => c.defaultRoute && !c.virtual) ?? candidates.find((c) => !c.virtual) ?? candidates.find((c) => c.defaultRoute);
  return pick?.address ?? '127.0.0.1';
}
