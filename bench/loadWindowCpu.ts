import { groupCpuSeconds } from './memory.js';

/**
 * A server's share of one core while SIPp offers a step's load. SIPp's whole run is longer: in a
 * failing step it waits out its timeouts (and the step its grace) after the load has stopped, so
 * CPU over that wall time understates how busy the server was while it was losing calls.
 */
export class LoadWindowCpu {
  private readonly cpu0: number;
  private readonly t0 = Date.now();
  private atEnd: { cpu: number; at: number } | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pgid: number, loadMs: number) {
    this.cpu0 = groupCpuSeconds(pgid);
    this.timer = setTimeout(() => (this.atEnd = this.reading()), loadMs);
  }

  private reading(): { cpu: number; at: number } {
    return { cpu: groupCpuSeconds(this.pgid), at: Date.now() };
  }

  /** Cores used from the start to the end of the load window (or to now, if the run ended sooner). */
  share(): number {
    clearTimeout(this.timer);
    const end = this.atEnd ?? this.reading();
    const seconds = (end.at - this.t0) / 1000;
    return seconds > 0 ? (end.cpu - this.cpu0) / seconds : 0;
  }
}
