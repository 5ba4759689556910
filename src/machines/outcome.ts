/** The ways a call ends (the call log's vocabulary, issue "Event-sourced journal"). */
export type CallOutcome = 'answered' | 'declined' | 'cancelled' | 'busy' | 'failed';

/**
 * Classifies the final response the caller received. 486 Busy Here and 600 Busy Everywhere are
 * busy; 603 Decline (and 607 Unwanted) declined; 487 after the caller's own CANCEL is cancelled;
 * any other failure (404, 408, 480, 5xx, a 487 after our Timer C) is failed.
 */
export function outcomeOf(status: number, cancelledByCaller: boolean): CallOutcome {
  if (status < 300) return 'answered';
  if (status === 487 && cancelledByCaller) return 'cancelled';
  if (status === 486 || status === 600) return 'busy';
  if (status === 603 || status === 607) return 'declined';
  return 'failed';
}
