import type { JournalWriter } from '../journal/writer.js';
import type { CallLifecycleEvent } from '../machines/lifecycle.js';
import type { BindingEvent } from './locationService.js';

/** Call lifecycle facts as journal events (the machine's fact, field for field). */
export function journalCallEvent(journal: JournalWriter, e: CallLifecycleEvent): void {
  journal.append(
    {
      type: e.name,
      callId: e.callId,
      fromTag: e.fromTag,
      from: e.from,
      to: e.to,
      ...(e.status !== undefined ? { status: e.status } : {}),
      ...(e.toTag !== undefined ? { toTag: e.toTag } : {}),
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
    },
    e.at,
  );
}

/**
 * Binding changes as journal events, with the absolute deadline; an instance's binding with its
 * instance and reg-id, which recovery keys it by (fields a binding without them leaves out).
 */
export function journalBindingEvent(journal: JournalWriter, e: BindingEvent): void {
  journal.append(
    {
      type: e.name,
      aor: e.aor,
      user: e.user,
      contact: e.contact,
      q: e.q,
      expires: new Date(e.expiresAt).toISOString(),
      callId: e.callId,
      cseq: e.cseq,
      source: e.source,
      ...(e.instance !== undefined ? { instance: e.instance } : {}),
      ...(e.regId !== undefined ? { regId: e.regId } : {}),
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
    },
    e.at,
  );
}
