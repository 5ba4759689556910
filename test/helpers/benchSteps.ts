import type { CallResult, CallStep } from '../../bench/callRate.js';

/** A call-rate step of 20 s at `rate`: all its calls completed, or half of them failed. */
export const callStep = (rate: number, ok: boolean, cpuSeconds = 10): CallStep => ({
  rate, seconds: 20, planned: rate * 20, successful: ok ? rate * 20 : rate * 10, failed: ok ? 0 : rate * 10, failedRatio: ok ? 0 : 0.5,
  offered: rate, retransmissions: 0, rcvbufErrors: 0, serverDrops: 0, calleeDrops: 0, serverCpu: cpuSeconds / 20, serverCpuSeconds: cpuSeconds,
  sippWatchdog: 0, failures: {}, ok, sippLimited: false, command: 'sipp',
});

/** sipstate's result over these steps, its highest rate the highest that passed. */
export const callResult = (steps: CallStep[]): CallResult => ({ server: 'sipstate', steps, max: Math.max(0, ...steps.filter((s) => s.ok).map((s) => s.rate)) || null, stoppedBySipp: false });
