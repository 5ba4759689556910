import type { BanReason } from '../security/sourceGuard.js';
import type { LocationService } from '../actors/locationService.js';
import { recover } from '../journal/recovery.js';
import { JournalWriter, writerOptions } from '../journal/writer.js';
import { CallLogWriter } from '../projections/callLogWriter.js';
import { journalBindingEvent } from '../actors/journalBridge.js';
import type { CallHistory } from '../projections/callHistory.js';
import type { RestoredCall } from '../cluster/ipc.js';
import type { Logger } from '../util/logger.js';
import type { ProxySettings } from './args.js';
import { describeRecovery } from './journalReport.js';

/** The proxy's journal at start (one process or the cluster's primary): recovery, log.txt, bans. */

/**
 * Recovers the journal (repairing a torn tail), rebuilds log.txt from it, and opens both for
 * appending; says what it found.
 */
export function openJournal(settings: ProxySettings, log: Logger): { recovery: ReturnType<typeof recover>; journal: JournalWriter; callLog: CallLogWriter } {
  const recovery = recover(settings.journal);
  for (const line of describeRecovery(recovery)) log.warn(line);
  const lapsed = recovery.lapsed.length > 0 ? ` (${recovery.lapsed.length} expired while stopped)` : '';
  log.info(`journal ${settings.journal} (fsync ${settings.fsync}): ${recovery.report.events} events, ${recovery.bindings.length} live bindings${lapsed}, call log ${settings.callLog}`);
  const journal = new JournalWriter(settings.journal, recovery.report.lastSeq, writerOptions(settings.fsync, settings.segmentBytes));
  journalLapsedBindings(journal, recovery);
  const callLog = new CallLogWriter(settings.callLog, recovery.history, settings.callLogFormat);
  callLog.rebuild(recovery.finished);
  journal.onDurable(callLog.onEvents);
  journal.onTrouble((m) => log.error(m));
  return { recovery, journal, callLog };
}

/**
 * A binding whose deadline passed while the proxy was down gets its `binding.expired` now, at
 * start (time of the start; its `expires` says when it lapsed), so that the journal's history
 * says it ended, as it would have had the proxy been running.
 */
export function journalLapsedBindings(journal: JournalWriter, recovery: Pick<ReturnType<typeof recover>, 'lapsed'>, now = Date.now()): void {
  for (const { user, aor, binding: b } of recovery.lapsed) {
    journalBindingEvent(journal, {
      name: 'binding.expired', at: now, aor, user, contact: b.contact, key: b.key, expiresAt: b.expiresAt,
      callId: b.callId, cseq: b.cseq, q: b.q, source: b.source, instance: b.instance, regId: b.regId, reason: undefined,
    });
  }
}

/** The location table as the journal left it: every AOR ever registered, and the live bindings. */
export function restoreLocation(location: LocationService, recovery: ReturnType<typeof recover>): void {
  for (const k of recovery.knownAors) location.restoreKnown(k.user, k.aor);
  for (const b of recovery.bindings) location.restore(b.user, b.aor, b.binding);
}

export function journalBan(journal: JournalWriter, log: Logger, source: string, reason: BanReason, until: number): void {
  log.warn(`banned ${source} until ${new Date(until).toISOString()} (${reason === 'rate' ? 'request flood' : 'failed authentications'})`);
  journal.append({ type: 'source.banned', source, reason, until: new Date(until).toISOString() });
}

export function journalRelease(journal: JournalWriter, log: Logger, source: string): void {
  log.info(`released ${source}`);
  journal.append({ type: 'source.released', source });
}

/**
 * Calls the journal shows answered but not ended are open again (a BYE after the restart ends
 * them); calls that were only ringing are open again too, as the callee may still answer: their
 * final response passes the new process statelessly, and without one they fail for `reason`
 * after Timer C (src/machines/call.ts, 'recovering'). `owns` picks the calls of one worker when
 * only that worker was started again.
 */
export function restoredCalls(
  history: CallHistory,
  reason = 'proxy restarted',
  owns: (callId: string) => boolean = () => true,
): RestoredCall[] {
  const open: RestoredCall[] = [];
  for (const c of history.openCalls()) {
    if (!owns(c.callId)) continue;
    const call = { callId: c.callId, fromTag: c.fromTag, from: c.from, to: c.to };
    if (c.answeredAt && c.toTag !== undefined) open.push({ ...call, phase: 'answered', toTag: c.toTag, answeredAt: Date.parse(c.answeredAt) });
    else if (!c.answeredAt) open.push({ ...call, phase: 'ringing', reason });
  }
  return open;
}
