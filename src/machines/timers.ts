/**
 * Transaction timer base values (RFC 3261 §17.1.1.1, table 4 of Appendix A).
 * T1: RTT estimate; T2: cap on non-INVITE request and INVITE response retransmit intervals;
 * T4: time a message may stay in the network. All in milliseconds.
 */
export interface TransactionTimers {
  readonly t1: number;
  readonly t2: number;
  readonly t4: number;
}

export const DEFAULT_TIMERS: TransactionTimers = { t1: 500, t2: 4000, t4: 5000 };

/** Timer C (§16.8): must be larger than 3 minutes in production. */
export const DEFAULT_TIMER_C_MS = 180_000;

/** 64*T1: Timers B, F, H, J, and RFC 6026's L and M. */
export function sixtyFourT1(t: TransactionTimers): number {
  return 64 * t.t1;
}

/**
 * Timer D (§17.1.1.2): "at least 32 seconds" for unreliable transports. We use 64*T1, which is
 * exactly 32 s at the default T1 and shrinks with T1 when tests shorten the timers.
 */
export function timerD(t: TransactionTimers, reliable: boolean): number {
  return reliable ? 0 : 64 * t.t1;
}
