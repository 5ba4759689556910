import type { BanReason } from '../security/sourceGuard.js';
import type { CallLifecycleEvent } from '../machines/lifecycle.js';
import type { BindingEvent } from '../actors/locationService.js';
import type { Binding } from '../proxy/registrar.js';
import type { SupervisorStats } from '../actors/supervisor.js';

/**
 * A call the journal shows open, which its owner worker opens again (restart recovery): answered
 * (it waits for its BYE), or ringing (it waits for the final response, at most Timer C, then
 * fails for `reason`).
 */
export type RestoredCall = { callId: string; fromTag: string; from: string; to: string } & (
  | { phase: 'answered'; toTag: string; answeredAt: number }
  | { phase: 'ringing'; reason: string }
);

/** An AOR with its bindings, as the primary hands its location table to a (re)started worker. */
export interface AorSnapshot {
  user: string;
  aor: string;
  bindings: Binding[];
}

export interface WorkerStatus extends SupervisorStats {
  worker: number;
  pid: number;
  rssBytes: number;
  heapUsedBytes: number;
  forwarded: number;
  /** Datagrams for a worker that had no bus at that moment (being started again): dropped. */
  unsent: number;
  /** 1 while this worker's start-up warm-up runs (src/actors/warmUp.ts); the cluster adds them up. */
  warmingUp: number;
}

/** Worker to primary, over the cluster's IPC channel. */
export type FromWorker =
  | { t: 'ready'; worker: number; busPort: number; host: string; port: number }
  | { t: 'lifecycle'; event: CallLifecycleEvent }
  | { t: 'binding'; event: BindingEvent }
  | { t: 'banned'; source: string; reason: BanReason; until: number }
  | { t: 'released'; source: string; until: number }
  | { t: 'authFailed'; source: string; user: string | null }
  /** A right password from an address new for that user (or half its time gone): exempt from the user's lock. */
  | { t: 'authenticated'; source: string; user: string }
  | { t: 'status'; id: number; status: WorkerStatus }
  | { t: 'stopped' }
  /** Journal facts a worker gathered over a few milliseconds, in order (src/cluster/factBatch.ts). */
  | { t: 'batch'; items: Fact[] };

/** What a worker hands to the primary's journal: sent in batches, not one message each. */
export type Fact = Extract<FromWorker, { t: 'lifecycle' | 'binding' | 'banned' | 'released' | 'authFailed' | 'authenticated' }>;

/** Primary to worker. */
export type ToWorker =
  | { t: 'start'; peers: number[]; aors: AorSnapshot[]; bans: Array<{ source: string; until: number }>; locks: Array<{ user: string; until: number; sources: string[] }>; calls: RestoredCall[] }
  | { t: 'peers'; peers: number[] }
  | { t: 'binding'; event: BindingEvent }
  | { t: 'banned'; source: string; until: number }
  /** A user locked, except at `sources` (src/security/authenticatedSources.ts); sent again when they grow. */
  | { t: 'locked'; user: string; until: number; sources: string[] }
  | { t: 'status'; id: number; gc: boolean }
  | { t: 'stop' };
