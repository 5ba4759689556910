/** Memory of a server: RSS and PSS summed over every process of its process group, from /proc. */
import { readdirSync, readFileSync } from 'node:fs';

export interface MemorySample {
  /** Sum of VmRSS over the group's processes (shared pages counted once per process). */
  rssBytes: number;
  /** Sum of Pss (shared pages divided among the processes sharing them): the group's real footprint. */
  pssBytes: number;
  processes: number;
  /** Kamailio only: shared memory in use by its allocator (kamcmd core.shmmem real_used). */
  shmUsedBytes?: number;
  /** sipstate only: the V8 heap in use right after a full garbage collection. */
  heapUsedBytes?: number;
  /** The RSS of the first of the samples taken until it settled (settledMemory in memoryUse.ts). */
  firstRssBytes?: number;
}

/** Pids whose process group is `pgid`. */
export function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[2]) === pgid) pids.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

function kbField(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

export function groupMemory(pgid: number): MemorySample {
  let rss = 0;
  let pss = 0;
  let n = 0;
  for (const pid of groupPids(pgid)) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rss += kbField(rollup, 'Rss');
      pss += kbField(rollup, 'Pss');
      n++;
    } catch {
      /* gone meanwhile */
    }
  }
  return { rssBytes: rss, pssBytes: pss, processes: n };
}

/** CPU seconds (user + system) used so far by the processes of a group (exited ones not counted). */
export function groupCpuSeconds(pgid: number): number {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  for (const pid of groupPids(pgid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after comm: state(0) ppid(1) ... utime(11) stime(12)
      total += (Number(rest[11]) + Number(rest[12])) / tick;
    } catch {
      /* gone meanwhile */
    }
  }
  return total;
}
