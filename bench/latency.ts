/**
 * Latency: calls at a fixed rate (half of Kamailio's highest passing call rate) through sipstate,
 * through Kamailio, and straight from the caller to the callee (the floor: no proxy). Two views
 * of INVITE -> 180 and INVITE -> 200:
 *  - SIPp's own response times (start_rtd/rtd, -trace_rtt -rtt_freq 1: every sample);
 *  - the wire, from a dumpcap capture of the caller's port (kernel timestamps, microseconds).
 */
import { startCapture, wireLatencies } from './capture.js';
import { makeTempDir, removeTempDir } from './processes.js';
import { freeUdpPort, sleep } from './ports.js';
import { startCallee, startCallers, startServer, warmUp } from './servers.js';
import type { ServerName } from './server.js';
import { num } from './sipp.js';
import { summarize, type Summary } from './percentiles.js';
import { failureCounts } from './callRate.js';

export interface LatencyResult {
  target: ServerName | 'direct';
  rate: number;
  seconds: number;
  /** Seconds of the same load before the measured calls (0: a fresh server after its warm-up). */
  loadBefore: number;
  /** Calls of that load that did not complete. */
  loadBeforeFailed: number;
  planned: number;
  successful: number;
  failed: number;
  failures: Record<string, number>;
  /** SIPp's response times, ms. */
  sipp: { inv180: Summary; inv200: Summary };
  /** From the capture, ms (null when dumpcap is not available or failed); hop: inside the proxy. */
  wire: { inv180: Summary; inv200: Summary; hopInvite: Summary; hop200: Summary } | null;
  wireNote?: string;
  command: string;
}

/** How long before the load that comes first ends the capture starts. */
const CAPTURE_LEAD_MS = 2000;

export async function latencyRun(
  target: ServerName | 'direct',
  rate: number,
  seconds: number,
  cpus: { server: number; load: number },
  capture: boolean,
  /** Seconds of the same load before the capture starts (the tail run: a proxy in steady state). */
  loadBefore = 0,
): Promise<LatencyResult> {
  const planned = Math.round(rate * seconds);
  const server = target === 'direct' ? null : await startServer(target, cpus.server);
  const dir = makeTempDir(`latency-${target}`);
  try {
    const callee = await startCallee(server, cpus.load, `${target} latency`);
    try {
      if (server) await warmUp(server, cpus.load, 'calls');
      const callerPort = await freeUdpPort();
      let wireNote: string | undefined;
      const startCaptureOnce = async (): Promise<Awaited<ReturnType<typeof startCapture>> | null> => {
        if (!capture) {
          wireNote = 'no capture: dumpcap is missing or may not capture here (see the start of the run)';
          return null;
        }
        try {
          return await startCapture(dir, server ? [callerPort, server.port] : [callerPort], cpus.load);
        } catch (e) {
          wireNote = (e as Error).message.split('\n').slice(0, 3).join(' ');
          return null;
        }
      };
      let cap: Awaited<ReturnType<typeof startCapture>> | null = null;
      try {
        let loadBeforeFailed = 0;
        if (loadBefore > 0) {
          // The capture starts while this load still runs, so the proxy does not idle before the
          // measured calls; their INVITEs are told apart by the caller's port (wireLatencies).
          const before = await startCallers({ label: `${target} load before ${rate}cps`, remotePort: server ? server.port : callee.port, rate, seconds: loadBefore, cpu: cpus.load });
          await Promise.race([before.done, sleep(Math.max(0, loadBefore * 1000 - CAPTURE_LEAD_MS))]);
          cap = await startCaptureOnce();
          const r = await before.done;
          loadBeforeFailed = Math.round(rate * loadBefore) - num(r.last, 'SuccessfulCall(C)');
        } else cap = await startCaptureOnce();
        const run = await startCallers({ label: `${target} latency ${rate}cps`, remotePort: server ? server.port : callee.port, rate, seconds, cpu: cpus.load, rtt: true, port: callerPort });
        const res = await run.done;
        let wire: LatencyResult['wire'] = null;
        if (cap) {
          await cap.stop();
          try {
            const w = wireLatencies(cap.file, callerPort, server?.port);
            wire = { inv180: summarize(w.inv180), inv200: summarize(w.inv200), hopInvite: summarize(w.hopInvite), hop200: summarize(w.hop200) };
          } catch (e) {
            wireNote = `capture unreadable: ${(e as Error).message}`;
          }
        }
        const successful = num(res.last, 'SuccessfulCall(C)');
        const pick = (rtd: string) => res.rtt.filter((s) => s.rtd === rtd).map((s) => s.ms);
        const out: LatencyResult = {
          target,
          rate,
          seconds,
          loadBefore,
          loadBeforeFailed,
          planned,
          successful,
          failed: planned - successful,
          failures: failureCounts(res),
          sipp: { inv180: summarize(pick('inv180')), inv200: summarize(pick('inv200')) },
          wire,
          command: res.command,
        };
        if (wireNote) out.wireNote = wireNote;
        return out;
      } finally {
        // Also when SIPp failed to start: no dumpcap left capturing.
        await cap?.stop();
      }
    } finally {
      await callee.stop();
    }
  } finally {
    await server?.stop();
    removeTempDir(dir);
  }
}
