import { Supervisor } from '../actors/supervisor.js';
import { LocationService } from '../actors/locationService.js';
import { LocalIdentity } from '../proxy/localIdentity.js';
import { UdpTransport } from '../transport/udp.js';
import { loadPhraseTable } from '../proxy/reasonPhrases.js';
import { Logger } from '../util/logger.js';
import { PeerLogger } from '../util/peerLogger.js';
import type { ProxySettings } from '../cli/args.js';
import { startAuthentication } from '../cli/authentication.js';
import { guardPolicy, listenError, supervisorOptions, startWarmUp, warmingUp, yieldThreads, type RunningWarmUp } from '../cli/proxyParts.js';
import { WorkerGuard } from './workerGuard.js';
import { callShare } from './callShare.js';
import { ownerOf } from './callIdOwner.js';
import { WorkerBus } from './workerBus.js';
import { FactBatch } from './factBatch.js';
import type { FromWorker, ToWorker } from './ipc.js';

/**
 * One worker of `--workers N` (docs/design.md "Across cores"): the supervisor and its machines
 * for the calls whose Call-ID hashes to this worker, on the UDP socket all workers share. A
 * datagram read here for another worker goes to it over the WorkerBus. Journal facts, binding
 * changes and bans go to the primary, the one journal writer; binding changes from the other
 * workers come back from it into this worker's copy of the location service.
 */
export async function runWorker(settings: ProxySettings): Promise<void> {
  const index = Number(process.env.SIPSTATE_WORKER);
  const host = process.env.SIPSTATE_HOST ?? '127.0.0.1';
  const workers = settings.workers;
  const log = new Logger(settings.logLevel, `worker ${index}: `);
  // What peers cause (bad datagrams, unresolvable hosts) is limited; the worker's own trouble is not.
  const peerLog = new PeerLogger(settings.logLevel, `worker ${index}: `);
  const tell = (m: FromWorker, done?: () => void) => {
    // With a callback, a failed write (the primary gone) is not an uncaught error event.
    if (process.connected) process.send!(m, undefined, undefined, () => done?.());
    else done?.();
  };
  const facts = new FactBatch(tell);
  // The primary stops the workers; a terminal's Ctrl-C reaches the whole process group.
  process.on('SIGINT', () => {});
  // Listening from the first moment: Node drops IPC messages that arrive with no listener, and a
  // 'stop' may come while this worker is still binding its sockets. Kept until set-up is done.
  const early: ToWorker[] = [];
  let handle: ((m: ToWorker) => void) | null = null;
  process.on('message', (m: ToWorker) => (handle ? handle(m) : early.push(m)));

  const guard = new WorkerGuard(guardPolicy(settings), workers, {
    banned: (source, reason, until) => facts.add({ t: 'banned', source, reason, until }),
    released: (source, until) => facts.add({ t: 'released', source, until }),
  }, {
    failed: (source, user) => facts.add({ t: 'authFailed', source, user }),
    succeeded: (source, user) => facts.add({ t: 'authenticated', source, user }),
  });

  let supervisor: Supervisor | null = null;
  const bus = new WorkerBus((data, source) => supervisor?.receive(data, source));
  const transport = new UdpTransport((d) => {
    const source = { host: d.host, port: d.port };
    // A banned source costs no hop: every worker holds every ban.
    if (!guard.admitDatagram(d.host)) return;
    const owner = ownerOf(d.data, workers);
    // Another worker's (if it is being started again, dropped: the sender's retransmission
    // finds it back; handled here, the call would be split over two workers).
    if (owner >= 0 && owner !== index) bus.forward(owner, d.data, source);
    else supervisor?.receive(d.data, source);
  }, (e) => peerLog.warn(`socket: ${e.message}`));
  let bound: { host: string; port: number };
  try {
    bound = await transport.listen(host, settings.port);
  } catch (e) {
    throw listenError(e, host, settings.port);
  }
  const busPort = await bus.open();

  const phrases = settings.reasonPhrases !== null ? loadPhraseTable(settings.reasonPhrases) : null;
  const identity = new LocalIdentity({ host: bound.host, port: bound.port, domains: settings.domains });
  // The primary logs what the users file holds; a worker only uses it.
  const auth = settings.users !== null ? startAuthentication(settings.users, settings.realm ?? identity.domain, settings.authAlgorithms, new Logger('error')) : null;
  // Expiry runs in every copy; only the primary's journals it.
  const location = new LocationService((e) => {
    if (e.name !== 'binding.expired') facts.add({ t: 'binding', event: e });
  });

  let stopping = false;
  let warm: RunningWarmUp | null = null;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    warm?.stop();
    supervisor?.stop();
    guard.close();
    auth?.close();
    await transport.close();
    bus.close();
    peerLog.close();
    // Everything sent before this reaches the primary first (one ordered channel).
    facts.flush(() => tell({ t: 'stopped' }, () => process.exit(0)));
  };
  process.once('SIGTERM', () => void stop());

  handle = (m: ToWorker) => {
    switch (m.t) {
      case 'start': {
        bus.setPeers(m.peers);
        location.restoreSnapshot(m.aors);
        for (const b of m.bans) guard.restoreBan(b.source, b.until);
        for (const l of m.locks) guard.restoreLock(l.user, l.until, l.sources);
        supervisor = new Supervisor(transport, {
          ...supervisorOptions(settings, {
            identity, location, guard, auth, phrases, log: peerLog,
            onLifecycle: (event) => facts.add({ t: 'lifecycle', event }),
          }),
          maxCalls: callShare(settings.maxCalls, workers, index),
        });
        for (const c of m.calls) supervisor.restoreCall(c);
        break;
      }
      case 'peers':
        bus.setPeers(m.peers);
        break;
      case 'binding':
        location.replicate(m.event);
        break;
      case 'banned':
        guard.restoreBan(m.source, m.until);
        break;
      case 'locked':
        guard.restoreLock(m.user, m.until, m.sources);
        break;
      case 'status': {
        if (m.gc) (globalThis as { gc?: () => void }).gc?.();
        const mem = process.memoryUsage();
        const stats = supervisor?.stats() ?? emptyStats(location.bindingCount);
        tell({ t: 'status', id: m.id, status: { ...stats, warmingUp: warmingUp(warm), worker: index, pid: process.pid, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, forwarded: bus.forwarded, unsent: bus.unsent } });
        break;
      }
      case 'stop':
        void stop();
        break;
    }
  };
  for (const m of early.splice(0)) handle(m);
  yieldThreads(settings, log);
  tell({ t: 'ready', worker: index, busPort, host: bound.host, port: bound.port });
  if (!stopping) warm = startWarmUp(settings, phrases, log, false);
  // Runs until the primary says stop (or its channel closes: cluster ends the worker then).
  await new Promise<never>(() => {});
}

function emptyStats(bindings: number): ReturnType<Supervisor['stats']> {
  return { serverTransactions: 0, clientTransactions: 0, calls: 0, relays: 0, dialogs: 0, bindings, received: 0, badMessages: 0, scannersDropped: 0, internalErrors: 0, bannedSources: 0, lockedUsers: 0, droppedByGuard: 0 };
}
