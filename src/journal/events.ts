/**
 * The journal's event format: one JSON object per line. A public format (docs/journal.md):
 * fields are only ever added, and every reader accepts every older version.
 */
import type { CallLifecycleName } from '../machines/lifecycle.js';

export const JOURNAL_VERSION = 1;

/** The call lifecycle facts of the call machine (src/machines/lifecycle.ts), journaled as they are. */
export type CallEventType = CallLifecycleName;

export type BindingEventType = 'binding.added' | 'binding.refreshed' | 'binding.removed' | 'binding.expired';

interface Envelope {
  /** Format version of this line. */
  v: number;
  /** Gapless, increasing across segments and restarts. */
  seq: number;
  /** When it happened: ISO-8601 UTC with milliseconds. */
  ts: string;
}

export interface CallEventBody {
  type: CallEventType;
  callId: string;
  /** The caller's From tag: with the Call-ID it names one call (a forked call logs once). */
  fromTag: string;
  /** From and To URIs without display name, tag or parameters. */
  from: string;
  to: string;
  /** The final status the caller received (outcomes decided by a response). */
  status?: number;
  /** call.answered: the callee's To tag, so a BYE after a restart still finds the dialog. */
  toTag?: string;
  /** call.ended / call.failed without a response: why (e.g. "max-duration", "proxy restarted"). */
  reason?: string;
}

export interface BindingEventBody {
  type: BindingEventType;
  /** The address-of-record, and the location key (user part) it is stored under. */
  aor: string;
  user: string;
  contact: string;
  q: number;
  /** Absolute deadline (ISO), so a restart re-arms the expiry instead of restarting it. */
  expires: string;
  callId: string;
  cseq: number;
  source: string;
  /**
   * The Contact's `+sip.instance` URN (comparison form) and `reg-id`: the binding's identity in
   * its AOR when present (RFC 5626 §6), else the Contact URI is. Absent from older journals.
   */
  instance?: string;
  regId?: number;
  /** binding.removed: 'replaced' (a binding of the same instance took its place). */
  reason?: string;
}

export type SourceEventType = 'source.banned' | 'source.released';

/** A source address banned for flooding or password guessing, and its release. */
export interface SourceEventBody {
  type: SourceEventType;
  source: string;
  /** source.banned: why ('rate' | 'auth-failures') and until when (ISO). */
  reason?: string;
  until?: string;
}

export type EventBody = CallEventBody | BindingEventBody | SourceEventBody;
export type JournalEvent = Envelope & EventBody;

export function isCallEvent(e: JournalEvent): e is Envelope & CallEventBody {
  return e.type.startsWith('call.');
}

export function isBindingEvent(e: JournalEvent): e is Envelope & BindingEventBody {
  return e.type.startsWith('binding.');
}

export function isSourceEvent(e: JournalEvent): e is Envelope & SourceEventBody {
  return e.type.startsWith('source.');
}

/** Checks the shape of a parsed line; returns an error text or null. */
export function checkEvent(o: unknown): string | null {
  if (typeof o !== 'object' || o === null) return 'not an object';
  const e = o as Record<string, unknown>;
  if (typeof e.v !== 'number' || e.v < 1) return 'missing version';
  if (e.v > JOURNAL_VERSION) return `version ${e.v} is newer than this program (${JOURNAL_VERSION})`;
  if (typeof e.seq !== 'number') return 'missing seq';
  if (typeof e.ts !== 'string') return 'missing ts';
  if (typeof e.type !== 'string' || !/^(call|binding|source)\./.test(e.type)) return 'unknown type';
  return null;
}
