import { Supervisor } from '../actors/supervisor.js';
import { LocationService } from '../actors/locationService.js';
import { LocalIdentity } from '../proxy/localIdentity.js';
import { UdpTransport } from '../transport/udp.js';
import { Logger } from '../util/logger.js';
import { PeerLogger } from '../util/peerLogger.js';
import cluster from 'node:cluster';
import { parseProxyArgs, USAGE } from './args.js';
import { startAdmin } from './admin.js';
import { startInspector } from './inspector.js';
import { journalBindingEvent, journalCallEvent } from '../actors/journalBridge.js';
import { loadPhraseTable } from '../proxy/reasonPhrases.js';
import { listenError, newGuard, pickHost, printBanner, supervisorOptions, untilStopped, startWarmUp, warmingUp, yieldThreads, type RunningWarmUp } from './proxyParts.js';
import { runPrimary } from '../cluster/primary.js';
import { runWorker } from '../cluster/worker.js';
import { startAuthentication } from './authentication.js';
import { journalBan, journalRelease, openJournal, restoreLocation, restoredCalls } from './journalSetup.js';

/** `sipstate [options]`: start the proxy, print what a softphone needs, stop cleanly on SIGINT/SIGTERM. */
export async function runProxy(argv: string[]): Promise<void> {
  const settings = parseProxyArgs(argv);
  if (settings === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const log = new Logger(settings.logLevel);
  if (settings.workers > 1) {
    if (settings.inspectPort !== null) throw new Error('--inspect watches the machines of one process: use it without --workers');
    return cluster.isPrimary ? runPrimary(settings, log) : runWorker(settings);
  }
  const phrases = settings.reasonPhrases !== null ? loadPhraseTable(settings.reasonPhrases) : null;
  const host = pickHost(settings, log);

  const inspector = settings.inspectPort !== null ? await startInspector(settings.inspectPort) : null;
  // What peers cause (bad datagrams, unresolvable hosts, bans) is limited; the proxy's own trouble is not.
  const peerLog = new PeerLogger(settings.logLevel);
  let supervisor: Supervisor | null = null;
  const transport = new UdpTransport(
    (d) => supervisor?.receive(d.data, { host: d.host, port: d.port }),
    (e) => peerLog.warn(`socket: ${e.message}`),
  );
  let bound: { host: string; port: number };
  try {
    bound = await transport.listen(host, settings.port);
  } catch (e) {
    inspector?.stop();
    throw listenError(e, host, settings.port);
  }
  const identity = new LocalIdentity({ host: bound.host, port: bound.port, domains: settings.domains });
  const auth = settings.users !== null ? startAuthentication(settings.users, settings.realm ?? identity.domain, settings.authAlgorithms, log) : null;

  // The journal is the source of truth: fold it, rebuild log.txt from it, then append to both.
  const { recovery, journal, callLog } = openJournal(settings, log);
  const location = new LocationService((e) => journalBindingEvent(journal, e));
  const guard = newGuard(settings, {
    banned: (source, reason, until) => journalBan(journal, peerLog, source, reason, until),
    released: (source) => journalRelease(journal, peerLog, source),
  });
  for (const b of recovery.bans) guard.restoreBan(b.source, b.until);
  restoreLocation(location, recovery);
  supervisor = new Supervisor(transport, {
    ...supervisorOptions(settings, { identity, location, guard, auth, phrases, log: peerLog, onLifecycle: (e) => journalCallEvent(journal, e) }),
    ...(inspector ? { inspect: inspector.inspect } : {}),
  });
  const sup = supervisor;
  for (const c of restoredCalls(recovery.history)) sup.restoreCall(c);
  let warm: RunningWarmUp | null = null;
  const admin = settings.adminPort !== null ? await startAdmin(settings.adminPort, () => ({ ...sup.stats(), warmingUp: warmingUp(warm) })) : null;

  yieldThreads(settings, log);
  log.info(`sipstate listening on udp:${bound.host}:${bound.port}`);
  printBanner(log, settings, identity, auth ? auth.realm : null, phrases);
  if (inspector) log.info(`inspector: open http://localhost:${settings.inspectPort} in a browser`);
  warm = startWarmUp(settings, phrases, log, true);

  await untilStopped(log);
  warm.stop();
  supervisor.stop();
  guard.close();
  auth?.close();
  await transport.close();
  journal.close();
  callLog.close();
  admin?.close();
  inspector?.stop();
  peerLog.close();
}
