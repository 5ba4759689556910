import cluster, { type Worker } from 'node:cluster';
import { LocationService } from '../actors/locationService.js';
import { journalBindingEvent, journalCallEvent } from '../actors/journalBridge.js';
import { LocalIdentity } from '../proxy/localIdentity.js';
import { loadPhraseTable } from '../proxy/reasonPhrases.js';
import type { Logger } from '../util/logger.js';
import { PeerLogger } from '../util/peerLogger.js';
import type { ProxySettings } from '../cli/args.js';
import { startAdmin } from '../cli/admin.js';
import { startAuthentication } from '../cli/authentication.js';
import { journalBan, journalRelease, openJournal, restoreLocation, restoredCalls } from '../cli/journalSetup.js';
import { newGuard, pickHost, printBanner, untilStopped } from '../cli/proxyParts.js';
import type { BanReason } from '../security/sourceGuard.js';
import { callIdTextHash } from './callIdOwner.js';
import type { FromWorker, RestoredCall, ToWorker, WorkerStatus } from './ipc.js';

const STOP_GRACE_MS = 5000;
const SAME_BAN_MS = 1000;

/**
 * The primary of `--workers N` (docs/design.md "Across cores"). It runs no SIP: it forks the
 * workers, which share one UDP socket, and is the one writer of the journal and log.txt. It
 * keeps the location table every worker copies: a binding change from one worker is journaled
 * here and passed to the others; expiries are journaled from this copy alone. A worker that
 * dies is forked again and gets the table, the bans and its open calls back.
 */
export async function runPrimary(settings: ProxySettings, log: Logger): Promise<void> {
  const host = pickHost(settings, log);
  const phrases = settings.reasonPhrases !== null ? loadPhraseTable(settings.reasonPhrases) : null;
  const { recovery, journal, callLog } = openJournal(settings, log);
  const location = new LocationService((e) => {
    if (e.name === 'binding.expired') journalBindingEvent(journal, e);
  });
  restoreLocation(location, recovery);
  const bans = new Map<string, number>();
  for (const b of recovery.bans) bans.set(b.source, b.until);
  const restored = restoredCalls(recovery.history);
  // Bans are what peers cause: limited, unlike the proxy's own trouble.
  const peerLog = new PeerLogger(settings.logLevel);

  const count = settings.workers;
  const slots: Array<{ worker: Worker; busPort: number | null }> = [];
  const statusWaits = new Map<number, { left: number; got: WorkerStatus[]; done: (s: WorkerStatus[]) => void }>();
  let nextStatusId = 1;
  let stopping = false;
  let bound: { host: string; port: number } | null = null;
  let firstStart = true;
  let readyAll: () => void;
  let failedStart: (e: Error) => void;
  const allReady = new Promise<void>((resolve, reject) => {
    readyAll = resolve;
    failedStart = reject;
  });

  // A worker may have died with its channel not yet seen closed: the write fails (EPIPE), and
  // its 'exit' handler below takes it from there.
  const toWorker = (w: Worker, m: ToWorker) => {
    if (w.isConnected()) w.send(m, undefined, undefined, () => {});
  };
  const others = (from: Worker, m: ToWorker) => {
    for (const s of slots) if (s.worker !== from) toWorker(s.worker, m);
  };
  const peers = () => slots.map((s) => s.busPort ?? 0);
  const owner = (callId: string) => callIdTextHash(callId) % count;
  /** What a worker starts from: its peers, the location table, live bans and locks, its calls. */
  const start = (calls: RestoredCall[]): ToWorker => ({
    t: 'start',
    peers: peers(),
    aors: location.snapshot(),
    bans: live(bans).map(([source, until]) => ({ source, until })),
    locks: authGuard.liveLocks(),
    calls,
  });

  // A ban from a worker (request rate) or from the primary's own guard (failed authentications):
  // journaled once, and passed to every worker but the one that made it. One that ends clearly
  // later than the ban held (an auth ban on top of a rate ban) replaces it; the same flood seen
  // by two workers a few milliseconds apart is one ban.
  const banned = (source: string, reason: BanReason, until: number, from: Worker | null) => {
    const held = bans.get(source);
    if (held !== undefined && until - held < SAME_BAN_MS) return;
    bans.set(source, until);
    journalBan(journal, peerLog, source, reason, until);
    for (const s of slots) if (s.worker !== from) toWorker(s.worker, { t: 'banned', source, until });
  };
  // Every holder of a ban releases it at the same moment: journaled once, and only for the ban
  // held now (a worker's late release of an older ban must not end a newer one).
  const released = (source: string, until: number) => {
    if (bans.get(source) !== until) return;
    bans.delete(source);
    journalRelease(journal, peerLog, source);
  };
  // Failed authentications of the whole proxy, counted in one place (src/cluster/workerGuard.ts).
  const authGuard = newGuard(settings, {
    banned: (source, reason, until) => banned(source, reason, until, null),
    released,
    locked: (user, until, sources) => {
      for (const s of slots) toWorker(s.worker, { t: 'locked', user, until, sources });
    },
  });

  const onMessage = (index: number, w: Worker, m: FromWorker) => {
    switch (m.t) {
      case 'ready': {
        slots[index]!.busPort = m.busPort;
        bound = { host: m.host, port: m.port };
        if (stopping) return; // it has been asked to stop already
        if (firstStart) {
          // Every worker starts with every peer's bus port.
          if (slots.length < count || slots.some((s) => s.busPort === null)) return;
          firstStart = false;
          for (const [i, s] of slots.entries()) toWorker(s.worker, start(restored.filter((c) => owner(c.callId) === i)));
          readyAll();
        } else {
          // A worker forked again: its answered and ringing calls reopen, as after a restart (the
          // call history is the journal's, kept current by log.txt's writer).
          toWorker(w, start(restoredCalls(recovery.history, 'worker restarted', (id) => owner(id) === index)));
          others(w, { t: 'peers', peers: peers() });
        }
        return;
      }
      case 'lifecycle':
        journalCallEvent(journal, m.event);
        return;
      case 'binding':
        journalBindingEvent(journal, m.event);
        location.replicate(m.event);
        others(w, m);
        return;
      case 'banned':
        banned(m.source, m.reason, m.until, w);
        return;
      case 'released':
        released(m.source, m.until);
        return;
      case 'authFailed':
        authGuard.authFailed(m.source, m.user);
        return;
      case 'authenticated':
        authGuard.authSucceeded(m.source, m.user);
        return;
      case 'status': {
        const wait = statusWaits.get(m.id);
        if (!wait) return;
        wait.got.push(m.status);
        if (--wait.left === 0) wait.done(wait.got);
        return;
      }
      case 'batch':
        for (const f of m.items) onMessage(index, w, f);
        return;
      case 'stopped':
        return;
    }
  };

  const fork = (index: number) => {
    const worker = cluster.fork({ SIPSTATE_WORKER: String(index), SIPSTATE_HOST: host });
    const startedAt = Date.now();
    slots[index] = { worker, busPort: null };
    worker.on('message', (m: FromWorker) => onMessage(index, worker, m));
    worker.on('error', (e) => log.debug(`worker ${index}: ${e.message}`));
    worker.on('exit', (code, signal) => {
      if (stopping || slots[index]?.worker !== worker) return;
      if (firstStart) {
        failedStart(new Error(`worker ${index} could not start (exit ${signal ?? code})`));
        return;
      }
      // The others drop its datagrams until it is back (src/cluster/worker.ts).
      slots[index]!.busPort = null;
      others(worker, { t: 'peers', peers: peers() });
      // A worker that keeps dying at once (a bad configuration, a bug) is not forked in a tight loop.
      const wait = Date.now() - startedAt < 5000 ? 1000 : 0;
      log.error(`worker ${index} (pid ${worker.process.pid}) ended (${signal ?? `exit ${code}`}): its calls in progress are lost; starting it again${wait ? ' in 1 s' : ''}`);
      setTimeout(() => {
        if (!stopping) fork(index);
      }, wait);
    });
  };
  for (let i = 0; i < count; i++) fork(i);
  try {
    await allReady;
  } catch (e) {
    stopping = true;
    for (const s of slots) s.worker.process.kill('SIGKILL');
    journal.close();
    callLog.close();
    throw e;
  }

  const identity = new LocalIdentity({ host: bound!.host, port: bound!.port, domains: settings.domains });
  const auth = settings.users !== null ? startAuthentication(settings.users, settings.realm ?? identity.domain, settings.authAlgorithms, log) : null;
  const statusOfWorkers = (gc: boolean) =>
    new Promise<WorkerStatus[]>((resolve) => {
      const id = nextStatusId++;
      const timer = setTimeout(() => done(wait.got), 2000);
      const done = (got: WorkerStatus[]) => {
        clearTimeout(timer);
        statusWaits.delete(id);
        resolve(got.sort((a, b) => a.worker - b.worker));
      };
      const wait = { left: slots.length, got: [] as WorkerStatus[], done };
      statusWaits.set(id, wait);
      for (const s of slots) toWorker(s.worker, { t: 'status', id, gc });
    });
  const admin = settings.adminPort !== null
    ? await startAdmin(settings.adminPort, async (gc) => clusterStatus(await statusOfWorkers(gc), location.bindingCount))
    : null;

  log.info(`sipstate listening on udp:${identity.host}:${identity.port} with ${count} workers (pids ${slots.map((s) => s.worker.process.pid).join(', ')})`);
  printBanner(log, settings, identity, auth ? auth.realm : null, phrases);

  await untilStopped(log);
  stopping = true;
  await Promise.all(slots.map((s) => stopWorker(s.worker)));
  location.close();
  authGuard.close();
  auth?.close();
  journal.close();
  callLog.close();
  admin?.close();
  peerLog.close();
}

/**
 * Asks a worker to stop (it sends what it still has first) and waits for its channel to close:
 * 'disconnect' comes after every message the worker sent has been handled here, so its last
 * facts are in the journal before the primary closes it. A worker that hangs is killed.
 */
function stopWorker(w: Worker): Promise<void> {
  return new Promise((resolve) => {
    if (!w.isConnected()) {
      if (!w.isDead()) w.process.kill('SIGKILL');
      return resolve();
    }
    const timer = setTimeout(() => w.process.kill('SIGKILL'), STOP_GRACE_MS);
    w.once('disconnect', () => {
      clearTimeout(timer);
      resolve();
    });
    w.send({ t: 'stop' } satisfies ToWorker, undefined, undefined, () => {});
  });
}

/** The entries of a map of deadlines that have not passed. */
function live(deadlines: Map<string, number>): Array<[string, number]> {
  const now = Date.now();
  return [...deadlines].filter(([, until]) => until > now);
}

/**
 * /status of the cluster: each count of the workers added up, but the bindings once (every worker
 * has them all) and the bans once (every worker holds every ban); the memory of all processes.
 */
function clusterStatus(workers: WorkerStatus[], bindings: number): object {
  const total: Record<string, number> = {};
  for (const w of workers) {
    for (const [k, v] of Object.entries(w)) if (k !== 'worker' && k !== 'pid') total[k] = (total[k] ?? 0) + v;
  }
  const mem = process.memoryUsage();
  return {
    ...total,
    bindings,
    bannedSources: Math.max(0, ...workers.map((w) => w.bannedSources)),
    lockedUsers: Math.max(0, ...workers.map((w) => w.lockedUsers)),
    rssBytes: mem.rss + (total.rssBytes ?? 0),
    heapUsedBytes: mem.heapUsed + (total.heapUsedBytes ?? 0),
    workers,
  };
}
