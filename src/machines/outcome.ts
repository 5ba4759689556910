/** The ways a call ends (the call log's vocabulary, issue "Event-sourced journal"). */
export type CallOutcome = 'answered' | 'declined' | 'cancelled' | 'busy' | 'failed';

/**
 * Classifies the final response the caller received. Any failure after the caller's own CANCEL is
 * cancelled: the caller hung up, whatever the best response turned out to be (§16.7 step 6 may pick
 * a fork's 486 over the others' 487, and a branch that never answered a provisional response gets no
 * CANCEL, §9.1, so it ends in a 408 at Timer B). Otherwise 486 Busy Here and 600 Busy Everywhere are
 * busy; 603 Decline (and 607 Unwanted) declined; any other failure (404, 408, 480, 5xx, a 487 after
 * our Timer C) is failed.
 */
export function outcomeOf(status: number, cancelledByCaller: boolean): CallOutcome {
  if (status < 300) return 'answered';
  if (cancelledByCaller) return 'cancelled';
  if (status === 486 || status === 600) return 'busy';
  if (status === 603 || status === 607) return 'declined';
  return 'failed';
}
