/**
 * Call lifecycle facts a call machine emits (past tense; the journal's call events).
 * `at` is epoch milliseconds when the fact happened.
 */
export type CallLifecycleName =
  | 'call.ringing'
  | 'call.answered'
  | 'call.ended'
  | 'call.declined'
  | 'call.cancelled'
  | 'call.busy'
  | 'call.failed';

export interface CallLifecycleEvent {
  name: CallLifecycleName;
  at: number;
  callId: string;
  fromTag: string;
  /** call.answered: the callee's tag, naming the dialog. */
  toTag?: string;
  from: string;
  to: string;
  /** The final status the caller saw, for outcomes decided by a response. */
  status?: number;
  /** Why a call ended without BYE (e.g. 'max-duration'). */
  reason?: string;
}
