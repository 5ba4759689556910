/**
 * Kamailio under test: bench/kamailio/kamailio.cfg in the foreground (-DD -E), one UDP worker,
 * all its processes pinned to one core, pid file / runtime dir / ctl socket in a temp dir.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnGroup, makeTempDir, removeTempDir } from './processes.js';
import { HOST, freeUdpPort, sleep, waitUdpBound } from './ports.js';
import { groupMemory } from './memory.js';
import { KAMAILIO_CFG } from './paths.js';
import { probe } from './rawSip.js';
import type { Server, ServerOptions } from './server.js';

const run = promisify(execFile);

/** Shared memory (-m) and private memory per process (-M), in MB; the receive-buffer probe cap (-b). */
export const KAMAILIO_SHM_MB = 1024;
export const KAMAILIO_PKG_MB = 32;
export const KAMAILIO_MAX_RCVBUF = 4 * 1024 * 1024;

/**
 * Where this machine's Kamailio keeps its modules: Debian installs them under the multiarch
 * directory (/usr/lib/x86_64-linux-gnu/..., /usr/lib/aarch64-linux-gnu/...). Null: the config's
 * own default.
 */
export function kamailioModules(): string | null {
  const dirs: string[] = [];
  try {
    for (const e of readdirSync('/usr/lib', { withFileTypes: true })) if (e.isDirectory()) dirs.push(path.join('/usr/lib', e.name, 'kamailio/modules'));
  } catch {
    /* no /usr/lib */
  }
  dirs.push('/usr/lib/kamailio/modules', '/usr/lib64/kamailio/modules', '/usr/local/lib64/kamailio/modules');
  return dirs.find((d) => existsSync(path.join(d, 'tm.so'))) ?? null;
}

export function kamailioCommand(port: number, dir: string, cpu: number): string[] {
  const modules = kamailioModules();
  return [
    'taskset', '-c', String(cpu), 'kamailio',
    '-f', KAMAILIO_CFG, '-DD', '-E',
    '-m', String(KAMAILIO_SHM_MB), '-M', String(KAMAILIO_PKG_MB), '-b', String(KAMAILIO_MAX_RCVBUF),
    '-l', `udp:${HOST}:${port}`,
    '-P', path.join(dir, 'kamailio.pid'), '-Y', dir,
    '-A', `CTL_SOCKET="unix:${path.join(dir, 'kamailio_ctl')}"`,
    ...(modules ? ['-A', `MODULES="${modules}/"`] : []),
  ];
}

/** kamcmd against this instance's ctl socket; returns its text output. */
export async function kamcmd(ctl: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('kamcmd', ['-s', `unix:${ctl}`, ...args], { timeout: 10_000 });
  return stdout;
}

/** `name: value` lines of a kamcmd struct dump as numbers. */
export function kamcmdFields(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^\s*([\w.:-]+)\s*[:=]\s*(-?\d+)\s*$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

export async function startKamailio(opts: ServerOptions): Promise<Server & { shmUsed(): Promise<number> }> {
  const dir = makeTempDir('kamailio');
  const port = await freeUdpPort();
  const ctl = path.join(dir, 'kamailio_ctl');
  const logFile = path.join(dir, 'kamailio.log');
  const [cmd, ...args] = kamailioCommand(port, dir, opts.cpu);
  const group = spawnGroup('kamailio', cmd!, args, { cwd: dir, stdout: logFile, stderr: logFile });
  const output = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-20_000);
    } catch {
      return '';
    }
  };
  try {
    await waitUdpBound(port, 15_000, 'kamailio', () => !group.hasExited());
    await probe(port);
    // The ctl process may come up a moment after the UDP worker.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await kamcmd(ctl, 'core.uptime');
        break;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`kamcmd cannot reach ${ctl}: ${(e as Error).message}`);
        await sleep(100);
      }
    }
  } catch (e) {
    const text = output();
    await group.stop();
    removeTempDir(dir);
    throw new Error(`${(e as Error).message}\n${text}`);
  }
  const shmUsed = async () => kamcmdFields(await kamcmd(ctl, 'core.shmmem')).real_used ?? 0;
  return {
    name: 'kamailio',
    port,
    group,
    shmUsed,
    memory: async () => ({ ...groupMemory(group.pid), shmUsedBytes: await shmUsed() }),
    memoryHeld: async () => ({ ...groupMemory(group.pid), shmUsedBytes: await shmUsed() }),
    transactions: async () => kamcmdFields(await kamcmd(ctl, 'tm.stats')).current ?? 0,
    bindings: async () => {
      const m = /location_contacts\s*=\s*(\d+)/.exec(await kamcmd(ctl, 'stats.get_statistics', 'location_contacts'));
      return m ? Number(m[1]) : 0;
    },
    output,
    stop: async () => {
      await group.stop(5000);
      removeTempDir(dir);
    },
  };
}
