/**
 * A throw-away simulated LAN built from Linux network namespaces (needs root and `ip netns`).
 *
 * Layout: one namespace per host, each with `lo` and `eth0` (a veth) plugged into bridge `br0`,
 * which sits in a separate bridge namespace. The root namespace is never touched, and no
 * namespace has a default route, so traffic can only reach the LAN peers or loopback.
 *
 * Usage with ava (teardowns also run when the test fails or hits `t.timeout`):
 *
 *   const lan = await createLan(['proxy', 'alice', 'bob']);
 *   t.teardown(() => lan.destroy());
 *   const child = lan.exec('alice', ['node', 'x.js']);
 *
 * `destroy()` is idempotent. Live LANs are also torn down synchronously on process 'exit'
 * and on SIGTERM/SIGINT/SIGHUP (ava's global timeout kills its worker with SIGTERM).
 */
import { spawn, spawnSync, execFile, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface LanHost {
  name: string;
  ns: string;
  ip: string;
}

export interface Lan<H extends string = string> {
  id: string;
  subnet: string;
  hosts: Record<H, LanHost>;
  /** Private temp dir for this LAN's files (config dirs etc.); removed by destroy(). */
  tmpDir: string;
  /** Spawns argv inside `host`'s namespace; the process is killed by destroy(). */
  exec(host: H, argv: string[], opts?: SpawnOptions): ChildProcess;
  destroy(): Promise<void>;
}

/** null if namespaces are usable here, else why not (to skip a test with). */
export async function lanUnsupportedReason(): Promise<string | null> {
  if (process.platform !== 'linux') return `needs Linux (platform is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'needs root for ip netns';
  try {
    await execFileP('ip', ['netns', 'list'], { timeout: 5000 });
  } catch (e) {
    return `ip netns unavailable: ${(e as Error).message}`;
  }
  return null;
}

async function ip(args: string[]): Promise<void> {
  try {
    await execFileP('ip', args, { timeout: 5000 });
  } catch (e) {
    throw new Error(`ip ${args.join(' ')} failed: ${(e as { stderr?: string }).stderr || (e as Error).message}`);
  }
}

/** Everything a LAN owns, kept where the synchronous exit hook can reach it. */
interface Owned {
  namespaces: string[];
  children: Set<ChildProcess>;
  tmpDir: string;
}
const live = new Set<Owned>();

function nsPids(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 });
  return (r.stdout ?? '').split(/\s+/).filter(Boolean).map(Number).filter((n) => n > 0 && n !== process.pid);
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Last-resort cleanup: must be synchronous, so no graceful wait. */
function destroySync(o: Owned): void {
  for (const c of o.children) if (c.pid) kill(c.pid, 'SIGKILL');
  // Also catches processes not started via exec() (e.g. startProxy's wrap) and their children.
  for (const ns of o.namespaces) for (const pid of nsPids(ns)) kill(pid, 'SIGKILL');
  for (const ns of [...o.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
  rmSync(o.tmpDir, { recursive: true, force: true });
  live.delete(o);
}

let hooksInstalled = false;
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => [...live].forEach(destroySync));
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = () => {
      [...live].forEach(destroySync);
      process.removeListener(sig, onSignal);
      // Keep the default "die by signal" behaviour unless someone else handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

export async function createLan<H extends string>(hostNames: readonly H[]): Promise<Lan<H>> {
  if (hostNames.length === 0 || hostNames.length > 250) throw new Error('createLan: need 1..250 hosts');
  for (const h of hostNames) if (!/^[a-z0-9-]{1,20}$/.test(h)) throw new Error(`createLan: bad host name '${h}'`);
  if (new Set(hostNames).size !== hostNames.length) throw new Error('createLan: duplicate host names');
  installHooks();

  // Namespaces fully isolate each LAN, so the random octet only keeps concurrent runs'
  // addresses distinct in logs; the random id is what keeps namespace names unique.
  const id = randomBytes(3).toString('hex');
  const octet = 1 + (randomBytes(1)[0]! % 254);
  const subnet = `10.77.${octet}.0/24`;
  const brNs = `ss${id}_br`; // '_' can't appear in host names, so no clash
  const owned: Owned = { namespaces: [], children: new Set(), tmpDir: mkdtempSync(path.join(tmpdir(), `sipstate-lan-${id}-`)) };
  live.add(owned);

  const hosts = {} as Record<H, LanHost>;
  try {
    await ip(['netns', 'add', brNs]);
    owned.namespaces.push(brNs);
    await ip(['-n', brNs, 'link', 'set', 'lo', 'up']);
    await ip(['-n', brNs, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', brNs, 'link', 'set', 'br0', 'up']);
    for (const [i, name] of hostNames.entries()) {
      const ns = `ss${id}-${name}`;
      const addr = `10.77.${octet}.${i + 1}`;
      await ip(['netns', 'add', ns]);
      owned.namespaces.push(ns);
      // Interface names are per-namespace, so short fixed names can't collide across LANs.
      await ip(['-n', brNs, 'link', 'add', `v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await ip(['-n', brNs, 'link', 'set', `v${i}`, 'master', 'br0', 'up']);
      await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
      await ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      hosts[name] = { name, ns, ip: addr };
    }
  } catch (e) {
    destroySync(owned);
    throw e;
  }

  let destroying: Promise<void> | undefined;
  return {
    id,
    subnet,
    hosts,
    tmpDir: owned.tmpDir,
    exec(host, argv, opts = {}) {
      if (!live.has(owned)) throw new Error('lan.exec after destroy()');
      const h = hosts[host];
      if (!h) throw new Error(`lan.exec: unknown host '${host}'`);
      // `ip netns exec` execs argv in place, so the child's pid is the program's own pid.
      const child = spawn('ip', ['netns', 'exec', h.ns, ...argv], { stdio: 'pipe', ...opts });
      owned.children.add(child);
      child.once('exit', () => owned.children.delete(child));
      child.once('error', () => owned.children.delete(child));
      return child;
    },
    destroy() {
      destroying ??= (async () => {
        if (!live.has(owned)) return;
        const pids = () => [...new Set([...[...owned.children].map((c) => c.pid ?? 0), ...owned.namespaces.flatMap(nsPids)])].filter((p) => p > 0);
        for (const p of pids()) kill(p, 'SIGTERM');
        for (let waited = 0; waited < 2000 && pids().length > 0; waited += 100) await new Promise((r) => setTimeout(r, 100));
        destroySync(owned); // SIGKILLs stragglers, deletes namespaces and tmpDir
      })();
      return destroying;
    },
  };
}
