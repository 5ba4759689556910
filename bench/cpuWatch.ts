/**
 * CPU accounting for one step: how busy the server was during the load window, and how much CPU
 * went to processes that are not part of the benchmark (another job on the machine skews every
 * figure, so the report shows it). Also the hypervisor's steal time.
 */
import { readFileSync } from 'node:fs';
import { groupCpuSeconds } from './memory.js';

interface StatTimes {
  /** user + nice + system, all cores, seconds (interrupt time is not attributed to processes). */
  busy: number;
  steal: number;
}

function statTimes(): StatTimes {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '))!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const tick = 100;
  return { busy: ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0)) / tick, steal: (f[7] ?? 0) / tick };
}

export interface CpuFigures {
  /** Server CPU over the load window, in cores (1 = one core busy). */
  server: number;
  /** CPU used by everything outside the benchmark during the step, in cores. */
  other: number;
  /** Hypervisor steal during the step, in cores. */
  steal: number;
}

export class CpuWatch {
  private readonly t0 = Date.now();
  private readonly stat0 = statTimes();
  private readonly self0 = process.cpuUsage();
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private serverAtMark: number | null = null;
  private markedAt: number | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly markTimer: NodeJS.Timeout;

  /**
   * `groups()`: the process groups of the benchmark alive now (server, SIPps, dumpcap); `server`
   * the server's group (or null); `loadMs` the length of the load window.
   */
  constructor(private readonly groups: () => number[], private readonly server: number | null, loadMs: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 250);
    this.markTimer = setTimeout(() => {
      this.sample();
      this.markedAt = Date.now();
      if (this.server !== null) this.serverAtMark = this.last.get(this.server) ?? null;
    }, loadMs);
  }

  private sample(): void {
    for (const pgid of this.groups()) {
      const c = groupCpuSeconds(pgid);
      if (!this.first.has(pgid)) this.first.set(pgid, c);
      // A group's processes only add up; a smaller reading means some of them already exited.
      this.last.set(pgid, Math.max(c, this.last.get(pgid) ?? 0));
    }
  }

  stop(): CpuFigures {
    this.sample();
    clearInterval(this.timer);
    clearTimeout(this.markTimer);
    const wall = (Date.now() - this.t0) / 1000;
    const stat = statTimes();
    const self = process.cpuUsage(this.self0);
    let ours = (self.user + self.system) / 1e6;
    for (const [pgid, c] of this.last) ours += c - (this.first.get(pgid) ?? c);
    const serverFirst = this.server !== null ? this.first.get(this.server) ?? 0 : 0;
    const serverEnd = this.serverAtMark ?? (this.server !== null ? this.last.get(this.server) ?? 0 : 0);
    const window = ((this.markedAt ?? Date.now()) - this.t0) / 1000;
    return {
      server: this.server !== null && window > 0 ? (serverEnd - serverFirst) / window : 0,
      other: Math.max(0, (stat.busy - this.stat0.busy - ours) / wall),
      steal: (stat.steal - this.stat0.steal) / wall,
    };
  }
}

/** How busy the machine is right now, outside this process: cores used over `ms`. */
export async function machineLoad(ms: number): Promise<{ busy: number; steal: number }> {
  const a = statTimes();
  const s0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const b = statTimes();
  const s = process.cpuUsage(s0);
  return { busy: Math.max(0, (b.busy - a.busy - (s.user + s.system) / 1e6) / (ms / 1000)), steal: (b.steal - a.steal) / (ms / 1000) };
}
