import { existsSync } from 'node:fs';
import type { Binding } from '../proxy/registrar.js';
import { contactKeyOfText } from '../proxy/registrar.js';
import { instanceKey } from '../proxy/instanceId.js';
import { CallHistory, type CallRecord } from '../projections/callHistory.js';
import { isBindingEvent, isSourceEvent, type JournalEvent } from './events.js';
import { readJournal, repairTornTail, type ReadReport } from './reader.js';
import { listSegments } from './segments.js';

export interface RecoveredBinding {
  user: string;
  aor: string;
  binding: Binding;
}

export interface Recovery {
  report: ReadReport;
  /** Bytes cut off the last segment's torn tail (0 when it was clean), and which segment. */
  tornBytes: number;
  tornSegment: string | null;
  history: CallHistory;
  /** Every finished call, in journal order: what log.txt shows. */
  finished: CallRecord[];
  /** Bindings whose deadline has not passed, for the location service. */
  bindings: RecoveredBinding[];
  /**
   * Bindings whose deadline passed with no `binding.expired` in the journal (the proxy was down
   * then): the proxy journals their expiry when it starts.
   */
  lapsed: RecoveredBinding[];
  /** Every AOR that ever registered: still known, so a call to one without a binding is 480, not 404. */
  knownAors: Array<{ user: string; aor: string }>;
  /** Bans of source addresses still running. */
  bans: Array<{ source: string; until: number }>;
}

/**
 * Folds a journal into the proxy's state (issue "Event-sourced journal", restart recovery): repairs
 * a torn tail, replays every event through the call history and the binding table, and returns
 * what is still live at `now`. Plain folding, no XState snapshots: deadlines are absolute in the
 * events, so timers are re-armed from them.
 */
export function recover(dir: string, now: number = Date.now(), opts: { repair?: boolean } = {}): Recovery {
  let tornBytes = 0;
  let tornSegment: string | null = null;
  const segs = listSegments(dir);
  const last = segs[segs.length - 1];
  if (last && opts.repair !== false && existsSync(last.file)) {
    tornBytes = repairTornTail(last.file);
    if (tornBytes > 0) tornSegment = last.name;
  }
  const history = new CallHistory();
  const finished: CallRecord[] = [];
  const table = new Map<string, { user: string; aor: string; binding: Binding }>();
  const known = new Map<string, string>();
  const bans = new Map<string, number>();
  const report = readJournal(dir, (e: JournalEvent) => {
    if (isSourceEvent(e)) {
      if (e.type === 'source.banned' && e.until) bans.set(e.source, Date.parse(e.until));
      else bans.delete(e.source);
      return;
    }
    if (isBindingEvent(e)) {
      // Keyed as the location service keys it: by instance and reg-id when the event has them
      // (RFC 5626 §6), else by Contact URI (§10.3, and every event of an older journal).
      const instance = typeof e.instance === 'string' ? e.instance : undefined;
      const regId = instance !== undefined && typeof e.regId === 'number' ? e.regId : undefined;
      const bindingKey = instance !== undefined ? instanceKey(instance, regId) : contactKeyOfText(e.contact);
      const key = `${e.user}\n${bindingKey}`;
      known.set(e.user, e.aor);
      if (e.type === 'binding.removed' || e.type === 'binding.expired') table.delete(key);
      else {
        table.set(key, {
          user: e.user,
          aor: e.aor,
          binding: { contact: e.contact, key: bindingKey, instance, regId, q: e.q, expiresAt: Date.parse(e.expires), callId: e.callId, cseq: e.cseq, source: e.source },
        });
      }
      return;
    }
    const done = history.apply(e);
    if (done) finished.push(done);
  });
  const bindings = [...table.values()].filter((b) => b.binding.expiresAt > now);
  const lapsed = [...table.values()].filter((b) => b.binding.expiresAt <= now);
  const liveBans = [...bans].filter(([, until]) => until > now).map(([source, until]) => ({ source, until }));
  const knownAors = [...known].map(([user, aor]) => ({ user, aor }));
  return { report, tornBytes, tornSegment, history, finished, bindings, lapsed, knownAors, bans: liveBans };
}
