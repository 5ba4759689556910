import { Supervisor } from '../actors/supervisor.js';
import { LocationService } from '../actors/locationService.js';
import { LocalIdentity } from '../proxy/localIdentity.js';
import { UdpTransport } from '../transport/udp.js';
import { Logger } from '../util/logger.js';
import { parseProxyArgs, USAGE } from './args.js';
import { chooseHost, listCandidates } from './netif.js';
import { startAdmin } from './admin.js';
import { startInspector } from './inspector.js';
import { recover } from '../journal/recovery.js';
import { JournalWriter } from '../journal/writer.js';
import { CallLogWriter } from '../projections/callLogWriter.js';
import { journalBindingEvent, journalCallEvent } from '../actors/journalBridge.js';
import { describeRecovery } from './journalReport.js';
import { loadPhraseTable, phraseRewriter } from '../proxy/reasonPhrases.js';
import { SourceGuard } from '../security/sourceGuard.js';
import { DEFAULT_SCANNER_AGENTS, scannerMatcher } from '../security/scanners.js';
import { startAuthentication } from './authentication.js';

/** `sipstate [options]`: start the proxy, print what a softphone needs, stop cleanly on SIGINT/SIGTERM. */
export async function runProxy(argv: string[]): Promise<void> {
  const settings = parseProxyArgs(argv);
  if (settings === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const log = new Logger(settings.logLevel);
  const phrases = settings.reasonPhrases !== null ? loadPhraseTable(settings.reasonPhrases) : null;
  let host = settings.host;
  if (host === null) {
    const candidates = listCandidates();
    host = chooseHost(candidates);
    log.info('addresses on this machine:');
    for (const c of candidates) {
      log.info(`  ${c.address.padEnd(15)} ${c.iface}${c.defaultRoute ? ' (default route)' : ''}${c.virtual ? ' (virtual adapter)' : ''}${c.address === host ? '  <- chosen' : ''}`);
    }
    if (candidates.length === 0) log.info('  none besides loopback; using 127.0.0.1');
  }

  const inspector = settings.inspectPort !== null ? await startInspector(settings.inspectPort) : null;
  let supervisor: Supervisor | null = null;
  const transport = new UdpTransport(
    (d) => supervisor?.receive(d.data, { host: d.host, port: d.port }),
    (e) => log.warn(`socket: ${e.message}`),
  );
  let bound: { host: string; port: number };
  try {
    bound = await transport.listen(host, settings.port);
  } catch (e) {
    inspector?.stop();
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EADDRINUSE' ? 'the port is already in use'
      : err.code === 'EADDRNOTAVAIL' ? 'that address is not on this machine'
      : err.code === 'EACCES' ? 'permission denied (ports below 1024 need root)' : err.message;
    throw new Error(`cannot listen on udp:${host}:${settings.port}: ${why}`);
  }
  const identity = new LocalIdentity({ host: bound.host, port: bound.port, domains: settings.domains });
  const auth = settings.users !== null ? startAuthentication(settings.users, settings.realm ?? identity.domain, settings.authAlgorithms, log) : null;

  // The journal is the source of truth: fold it, rebuild log.txt from it, then append to both.
  const recovery = recover(settings.journal);
  for (const line of describeRecovery(recovery)) log.warn(line);
  const journal = new JournalWriter(settings.journal, recovery.report.lastSeq, { fsync: settings.fsync, segmentBytes: settings.segmentBytes, batchMs: 10 });
  const callLog = new CallLogWriter(settings.callLog, recovery.history, settings.callLogFormat);
  callLog.rebuild(recovery.finished);
  journal.onDurable(callLog.onEvents);
  const location = new LocationService((e) => journalBindingEvent(journal, e));
  const guard = new SourceGuard(
    { requestsPerSecond: settings.rateLimit, authFailuresPerMinute: settings.authFailures, banMs: settings.banSeconds * 1000 },
    {
      banned: (source, reason, until) => {
        log.warn(`banned ${source} until ${new Date(until).toISOString()} (${reason === 'rate' ? 'request flood' : 'failed authentications'})`);
        journal.append({ type: 'source.banned', source, reason, until: new Date(until).toISOString() });
      },
      released: (source) => {
        log.info(`released ${source}`);
        journal.append({ type: 'source.released', source });
      },
    },
  );
  for (const b of recovery.bans) guard.restoreBan(b.source, b.until);
  for (const k of recovery.knownAors) location.restoreKnown(k.user, k.aor);
  for (const b of recovery.bindings) location.restore(b.user, b.aor, b.binding);
  supervisor = new Supervisor(transport, {
    identity,
    timers: { t1: settings.t1, t2: settings.t2, t4: settings.t4 },
    timerCMs: settings.timerC,
    maxCallMs: settings.maxCallSeconds * 1000,
    registrar: { minExpires: settings.minExpires, defaultExpires: settings.defaultExpires, maxExpires: settings.maxExpires },
    location,
    guard,
    ...(auth ? { authenticator: auth.authenticator } : {}),
    isScanner: scannerMatcher([...DEFAULT_SCANNER_AGENTS, ...settings.blockUserAgents]),
    logger: log,
    ...(phrases ? { rewriteResponse: phraseRewriter(phrases) } : {}),
    onLifecycle: (e) => {
      journalCallEvent(journal, e);
      if (log.enabled('debug')) log.debug(`${e.name} ${e.from} -> ${e.to}${e.status ? ` ${e.status}` : ''} (${e.callId})`);
    },
    ...(inspector ? { inspect: inspector.inspect } : {}),
  });
  restoreCalls(recovery, supervisor, journal);
  log.info(`journal ${settings.journal} (fsync ${settings.fsync}): ${recovery.report.events} events, ${recovery.bindings.length} live bindings, call log ${settings.callLog}`);
  const admin = settings.adminPort !== null ? await startAdmin(settings.adminPort, () => supervisor!.stats()) : null;

  log.info(`sipstate listening on udp:${bound.host}:${bound.port}`);
  if (auth) {
    log.info(`softphone settings: domain/proxy ${identity.hostPort}, transport UDP, user name and password as given to "sipstate user add" (realm ${auth.realm})`);
  } else {
    log.info(`softphone settings: domain/proxy ${identity.hostPort}, transport UDP, user name: any (e.g. 101), no password`);
    log.warn(`authentication is off (no --users FILE): anyone who can reach udp:${identity.hostPort} can register any name and call through this proxy; see README "Authentication"`);
  }
  for (const d of settings.domains) log.info(`also serving domain ${d}`);
  if (phrases) log.info(`reason phrases: ${[...phrases].map(([c, p]) => `${c} ${p}`).join(', ')}`);
  if (inspector) log.info(`inspector: open http://localhost:${settings.inspectPort} in a browser`);

  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log.info(`${sig}: stopping`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  supervisor.stop();
  guard.close();
  auth?.close();
  await transport.close();
  journal.close();
  admin?.close();
  inspector?.stop();
}

/**
 * Calls the journal shows answered but not ended are open again (a BYE after the restart ends
 * them); calls that were only ringing died with the old process: they are journaled as failed.
 */
function restoreCalls(recovery: ReturnType<typeof recover>, supervisor: Supervisor, journal: JournalWriter): void {
  for (const c of recovery.history.openCalls()) {
    if (c.answeredAt && c.toTag !== undefined) {
      supervisor.restoreCall({ callId: c.callId, fromTag: c.fromTag, toTag: c.toTag, from: c.from, to: c.to, answeredAt: Date.parse(c.answeredAt) });
    } else if (!c.answeredAt) {
      journal.append({ type: 'call.failed', callId: c.callId, fromTag: c.fromTag, from: c.from, to: c.to, reason: 'proxy restarted' });
    }
  }
}
