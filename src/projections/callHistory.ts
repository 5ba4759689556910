import type { CallEventBody, JournalEvent } from '../journal/events.js';
import { isCallEvent } from '../journal/events.js';

export type CallOutcome = 'answered' | 'declined' | 'cancelled' | 'busy' | 'failed';

/** One finished call, as folded from its journal events. Times are ISO strings from the journal. */
export interface CallRecord {
  callId: string;
  fromTag: string;
  from: string;
  to: string;
  outcome: CallOutcome;
  /** First event of the call: the date a log line belongs to. */
  firstAt: string;
  ringingAt?: string;
  answeredAt?: string;
  endedAt?: string;
  /** When a call that was not answered ended (the final response). */
  finalAt?: string;
  status?: number;
  reason?: string;
}

interface OpenCall {
  body: CallEventBody;
  firstAt: string;
  ringingAt?: string;
  answeredAt?: string;
  toTag?: string;
}

const FAILURES: Record<string, CallOutcome> = {
  'call.declined': 'declined',
  'call.cancelled': 'cancelled',
  'call.busy': 'busy',
  'call.failed': 'failed',
};

/**
 * Folds call events into finished calls, in journal order: the one projection behind log.txt,
 * `sipstate calls` and restart recovery. A call is its Call-ID plus the caller's From tag.
 */
export class CallHistory {
  private readonly open = new Map<string, OpenCall>();

  /** Applies one event; returns the call it finished, if any. */
  apply(e: JournalEvent): CallRecord | null {
    if (!isCallEvent(e)) return null;
    const key = `${e.callId}\n${e.fromTag}`;
    let call = this.open.get(key);
    if (!call) {
      call = { body: e, firstAt: e.ts };
      this.open.set(key, call);
    }
    const base = { callId: e.callId, fromTag: e.fromTag, from: call.body.from, to: call.body.to, firstAt: call.firstAt };
    switch (e.type) {
      case 'call.ringing':
        call.ringingAt ??= e.ts;
        return null;
      case 'call.answered':
        call.answeredAt ??= e.ts;
        if (e.toTag !== undefined) call.toTag ??= e.toTag;
        return null;
      case 'call.ended':
        this.open.delete(key);
        return {
          ...base,
          outcome: 'answered',
          ...(call.ringingAt ? { ringingAt: call.ringingAt } : {}),
          answeredAt: call.answeredAt ?? e.ts,
          endedAt: e.ts,
          ...(e.reason ? { reason: e.reason } : {}),
        };
      default: {
        // A failure after the answer (a late branch) does not undo the answer.
        if (call.answeredAt) return null;
        this.open.delete(key);
        return {
          ...base,
          outcome: FAILURES[e.type] ?? 'failed',
          ...(call.ringingAt ? { ringingAt: call.ringingAt } : {}),
          finalAt: e.ts,
          ...(e.status !== undefined ? { status: e.status } : {}),
          ...(e.reason ? { reason: e.reason } : {}),
        };
      }
    }
  }

  /** Calls not finished yet: answered ones (to reopen after a restart) and ringing ones. */
  openCalls(): Array<{ callId: string; fromTag: string; toTag?: string; from: string; to: string; answeredAt?: string; ringingAt?: string }> {
    return [...this.open.values()].map((c) => ({
      callId: c.body.callId,
      fromTag: c.body.fromTag,
      from: c.body.from,
      to: c.body.to,
      ...(c.toTag !== undefined ? { toTag: c.toTag } : {}),
      ...(c.answeredAt ? { answeredAt: c.answeredAt } : {}),
      ...(c.ringingAt ? { ringingAt: c.ringingAt } : {}),
    }));
  }
}
