import type { SupervisorOptions } from '../actors/supervisor.js';
import type { LocationService } from '../actors/locationService.js';
import type { LocalIdentity } from '../proxy/localIdentity.js';
import type { CallLifecycleEvent } from '../machines/lifecycle.js';
import type { Logger } from '../util/logger.js';
import type { ProxySettings } from './args.js';
import type { Authentication } from './authentication.js';
import { phraseRewriter, type PhraseTable } from '../proxy/reasonPhrases.js';
import { DEFAULT_AUTHENTICATED_SOURCE_MS, SourceGuard, type GuardEvents, type GuardPolicy } from '../security/sourceGuard.js';
import { DEFAULT_SCANNER_AGENTS, scannerMatcher } from '../security/scanners.js';
import { chooseHost, listCandidates } from './netif.js';
import { yieldBackgroundThreads } from '../util/backgroundThreads.js';
import { warmUp } from '../actors/warmUp.js';

/** What the one-process proxy and the cluster share: host choice, the supervisor's options, the banner. */

/** `--host`, else the default route's address, listing the candidates so a user can pick another. */
export function pickHost(settings: ProxySettings, log: Logger): string {
  if (settings.host !== null) return settings.host;
  const candidates = listCandidates();
  const host = chooseHost(candidates);
  log.info('addresses on this machine:');
  for (const c of candidates) {
    log.info(`  ${c.address.padEnd(15)} ${c.iface}${c.defaultRoute ? ' (default route)' : ''}${c.virtual ? ' (virtual adapter)' : ''}${c.address === host ? '  <- chosen' : ''}`);
  }
  if (candidates.length === 0) log.info('  none besides loopback; using 127.0.0.1');
  return host;
}

/** A bind failure in words a user can act on. */
export function listenError(e: unknown, host: string, port: number): Error {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'EADDRINUSE' ? 'the port is already in use'
    : err.code === 'EADDRNOTAVAIL' ? 'that address is not on this machine'
    : err.code === 'EACCES' ? 'permission denied (ports below 1024 need root)' : err.message;
  return new Error(`cannot listen on udp:${host}:${port}: ${why}`);
}

export function guardPolicy(settings: ProxySettings): GuardPolicy {
  return {
    requestsPerSecond: settings.rateLimit,
    authFailuresPerMinute: settings.authFailures,
    banMs: settings.banSeconds * 1000,
    // A phone re-registers before its binding expires, and so refreshes its address in time.
    authenticatedSourceMs: Math.max(DEFAULT_AUTHENTICATED_SOURCE_MS, 2 * settings.maxExpires * 1000),
  };
}

export function newGuard(settings: ProxySettings, events: GuardEvents): SourceGuard {
  return new SourceGuard(guardPolicy(settings), events);
}

/**
 * The options that change the code a message takes through the supervisor: the interpreter, the
 * scanner filter, the reason-phrase rewriter. The real supervisor and the warm-up's share them.
 */
function messagePath(settings: ProxySettings, phrases: PhraseTable | null): Pick<SupervisorOptions, 'engine' | 'isScanner' | 'rewriteResponse'> {
  return {
    engine: settings.engine,
    isScanner: scannerMatcher([...DEFAULT_SCANNER_AGENTS, ...settings.blockUserAgents]),
    ...(phrases ? { rewriteResponse: phraseRewriter(phrases) } : {}),
  };
}

export function supervisorOptions(
  settings: ProxySettings,
  parts: {
    identity: LocalIdentity;
    location: LocationService;
    guard: SourceGuard;
    auth: Authentication | null;
    phrases: PhraseTable | null;
    log: Logger;
    onLifecycle: (e: CallLifecycleEvent) => void;
  },
): SupervisorOptions {
  const log = parts.log;
  return {
    identity: parts.identity,
    timers: { t1: settings.t1, t2: settings.t2, t4: settings.t4 },
    timerCMs: settings.timerC,
    maxCallMs: settings.maxCallSeconds * 1000,
    maxCalls: settings.maxCalls,
    registrar: { minExpires: settings.minExpires, defaultExpires: settings.defaultExpires, maxExpires: settings.maxExpires },
    location: parts.location,
    guard: parts.guard,
    ...(parts.auth ? { authenticator: parts.auth.authenticator } : {}),
    ...messagePath(settings, parts.phrases),
    logger: log,
    onLifecycle: (e) => {
      parts.onLifecycle(e);
      if (log.enabled('debug')) log.debug(`${e.name} ${e.from} -> ${e.to}${e.status ? ` ${e.status}` : ''} (${e.callId})`);
    },
  };
}

/**
 * `--background-threads low|idle`: the threads besides the event loop's give it the core (finding
 * 38). Called at start, just before "listening": by then `npm start` had ten such threads here,
 * libuv's pool among them; a thread started later keeps the normal policy.
 */
export function yieldThreads(settings: ProxySettings, log: Logger): void {
  const mode = settings.backgroundThreads;
  if (mode === 'normal') return;
  const y = yieldBackgroundThreads(mode);
  if (y.threads === 0) return;
  log.info(`background threads: ${y.threads} (${y.idle} under SCHED_IDLE, ${y.niced} at nice 19)`);
}

/** A warm-up started by startWarmUp: whether it still runs (`/status` says so), and its stop. */
export interface RunningWarmUp {
  running(): boolean;
  stop(): void;
}

/** `/status`'s `warmingUp` of one process: 1 while its start-up warm-up runs (a benchmark waits for 0). */
export function warmingUp(warm: RunningWarmUp | null): number {
  return warm?.running() ? 1 : 0;
}

/**
 * `--warm-up N`: the JIT warm-up (src/actors/warmUp.ts) on the real supervisor's message path,
 * started once the proxy listens; it runs beside the real traffic. `journals`: this process
 * writes the journal and log.txt itself (not a cluster worker), so the warm-up writes scratch copies.
 */
export function startWarmUp(settings: ProxySettings, phrases: PhraseTable | null, log: Logger, journals: boolean): RunningWarmUp {
  if (settings.warmUpCalls === 0) return { running: () => false, stop: () => {} };
  const stop = new AbortController();
  let running = true;
  const journal = journals ? { fsync: settings.fsync, callLogFormat: settings.callLogFormat } : undefined;
  void warmUp(settings.warmUpCalls, messagePath(settings, phrases), stop.signal, journal).then((r) => {
    running = false;
    if (stop.signal.aborted) return;
    if (r.error !== undefined) log.warn(`warm-up stopped after ${r.calls} calls: ${r.error}`);
    else log.info(`warm-up: ${r.calls} scripted calls in ${Math.round(r.ms)} ms`);
  });
  return { running: () => running, stop: () => stop.abort() };
}

/** What a softphone needs to know, once the proxy listens. */
export function printBanner(
  log: Logger,
  settings: ProxySettings,
  identity: LocalIdentity,
  realm: string | null,
  phrases: PhraseTable | null,
): void {
  if (realm !== null) {
    log.info(`softphone settings: domain/proxy ${identity.hostPort}, transport UDP, user name and password as given to "sipstate user add" (realm ${realm})`);
  } else {
    log.info(`softphone settings: domain/proxy ${identity.hostPort}, transport UDP, user name: any (e.g. 101), no password`);
    log.warn(`authentication is off (no --users FILE): anyone who can reach udp:${identity.hostPort} can register any name and call through this proxy; see README "Authentication"`);
  }
  for (const d of settings.domains) log.info(`also serving domain ${d}`);
  if (phrases) log.info(`reason phrases: ${[...phrases].map(([c, p]) => `${c} ${p}`).join(', ')}`);
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilStopped(log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log.info(`${sig}: stopping`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
