/** What the phases need of a server under test (sipstate or Kamailio), started fresh for each measurement. */
import type { Group } from './processes.js';
import type { MemorySample } from './memory.js';

export type ServerName = 'sipstate' | 'kamailio';

export interface Server {
  name: ServerName;
  port: number;
  group: Group;
  /** RSS/PSS of the whole process group (and Kamailio's shm in use). */
  memory(): Promise<MemorySample>;
  /** The same, plus what the allocator really holds: Kamailio's shm in use, sipstate's heap after a full GC. */
  memoryHeld(): Promise<MemorySample>;
  /** Transactions alive in the server now. */
  transactions(): Promise<number>;
  /** Registered contacts in the location table now. */
  bindings(): Promise<number>;
  /** The server's output so far (logs), for error messages. */
  output(): string;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** The CPU (taskset -c) the server runs on. */
  cpu: number;
  /** Extra Node.js flags for sipstate (e.g. --cpu-prof); Kamailio ignores them. */
  nodeArgs?: string[];
  /** sipstate only: worker processes (--workers) and the cores they may use (taskset -c list). */
  workers?: number;
  cpuList?: string;
}

/** The effective receive buffer of the socket bound to `port` (ss -uamn: skmem rb), or null. */
export async function receiveBuffer(port: number): Promise<number | null> {
  const { execFileSync } = await import('node:child_process');
  try {
    const out = execFileSync('ss', ['-uamn', `sport = :${port}`], { encoding: 'utf8', timeout: 5000 });
    const m = /rb(\d+)/.exec(out);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
