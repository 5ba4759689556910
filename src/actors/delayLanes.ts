/**
 * The machines' delayed events (XState `after`, `raise` with a delay): RFC 3261's transaction
 * timers. Nearly all are one of a few fixed delays (T1 doublings, T4, 64*T1), so they wait in one
 * lane per delay: a queue in the order they were scheduled, which is also the order they fall
 * due, under one Node timer for the lane's head. A delayed event is one small object instead of a
 * Node Timeout with its argument array, and every transaction keeps one for the 32 s it lingers
 * (64*T1, RFC 3261 §17 and RFC 6026).
 *
 * Not `DeadlineQueue` (src/util), which serves binding and ban expiries: its heap costs O(log n)
 * per insert where a lane appends, and it drops a stale entry only when it surfaces, while most
 * transaction timers are cancelled within milliseconds (Timers A, B, E, F, C) and would sit there
 * for their whole delay, up to 180 s for Timer C. A lane forgets them at once when it empties and
 * sweeps them when they pile up.
 */
import { performance } from 'node:perf_hooks';

/** Who is told when one of its delayed events falls due. */
export interface DelayOwner {
  fireDelayed(id: string, target: unknown, event: { type: string }): void;
}

/**
 * One delayed event; `owner` is null once it was cancelled or has fired. Its target and event go
 * too then: a cancelled event may wait in its lane for the whole delay, and must not keep an
 * ended actor alive that long (Timer F of a BYE's client transaction would hold it 32 s instead
 * of the 5 s of Timer K).
 */
export class DelayedEvent {
  constructor(
    /** Whole milliseconds on the performance.now() clock: a small integer V8 stores unboxed (for the first 24 days of uptime). */
    readonly due: number,
    readonly lane: Lane,
    public owner: DelayOwner | null,
    readonly id: string,
    public target: unknown,
    public event: { type: string } | null,
  ) {}

  release(): void {
    this.owner = null;
    this.target = null;
    this.event = null;
  }
}

/**
 * A lane is swept once its cancelled events outnumber half its live ones by this much. Each call
 * leaves two cancelled events in the 64*T1 lane, Timer B (RFC 3261 §17.1.1.2) and the BYE's
 * Timer F (§17.1.2.2), beside three live ones: J (§17.2.2), L and M (RFC 6026). Above about 64
 * calls/s the lane is swept every 25-29 s, so a cancelled event waits about 12 s on average
 * instead of the whole 32 s (BENCHMARKS.md, finding 24). A sweep copies the lane once, paid for by
 * the cancellations since the last: at most about three copies per cancellation.
 */
const SWEEP_SLACK = 1024;

class Lane {
  constructor(
    private readonly delay: number,
    /** The lanes by delay: an empty lane leaves it, so odd delays (a Timer C re-armed for its remainder) do not pile up. */
    private readonly byDelay: Map<number, Lane>,
  ) {}

  /** Scheduled events from `head` on; cancelled ones stay until passed or swept. */
  private queue: DelayedEvent[] = [];
  private head = 0;
  /** Scheduled, not yet cancelled or fired. */
  live = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Inside run(): it arms the timer for the head once done (an event added meanwhile is not the head). */
  private running = false;

  add(e: DelayedEvent): void {
    this.queue.push(e);
    this.live++;
    if (this.timer === null && !this.running) this.arm(e.due);
  }

  /** One of its events was cancelled. */
  dropOne(): void {
    if (--this.live === 0) {
      // Nothing left to wait for: no timer may keep the process alive or fire for nothing.
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.retire();
    } else if (this.queue.length - this.head - this.live > (this.live >> 1) + SWEEP_SLACK) {
      // Mostly cancelled (Timers B, F and C usually are): swept, not kept for the whole delay.
      this.queue = this.queue.slice(this.head).filter((x) => x.owner !== null);
      this.head = 0;
    }
  }

  /** Fires every event due by now, in order, then waits for the next one. */
  run(): void {
    this.timer = null;
    this.running = true;
    try {
      this.fireDue(performance.now());
    } finally {
      this.running = false;
    }
    if (this.live > 0 && this.timer === null) {
      while (this.queue[this.head]!.owner === null) this.head++;
      this.arm(this.queue[this.head]!.due);
    }
  }

  private fireDue(now: number): void {
    while (this.head < this.queue.length) {
      const e = this.queue[this.head]!;
      const owner = e.owner;
      if (owner !== null && e.due > now) break;
      this.head++;
      if (owner === null) continue;
      const target = e.target;
      const event = e.event!;
      e.release();
      this.live--;
      // The owner's handler may schedule into this lane (a backed-off retransmission timer).
      owner.fireDelayed(e.id, target, event);
    }
    if (this.head >= this.queue.length) {
      this.retire();
    } else if (this.head > SWEEP_SLACK && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Empty: forgotten by its DelayLanes (the next event of this delay starts a new lane). */
  private retire(): void {
    this.queue = [];
    this.head = 0;
    if (this.byDelay.get(this.delay) === this) this.byDelay.delete(this.delay);
  }

  private arm(due: number): void {
    this.timer = setTimeout(runLane, Math.max(0, Math.ceil(due - performance.now())), this);
  }
}

export type { Lane };

function runLane(lane: Lane): void {
  lane.run();
}

/** The lanes of one MachineSystem, by delay in ms. */
export class DelayLanes {
  private readonly lanes = new Map<number, Lane>();

  /** `owner.fireDelayed(id, target, event)` after `delay` ms, unless cancelled first. */
  schedule(delay: number, owner: DelayOwner, id: string, target: unknown, event: { type: string }): DelayedEvent {
    let lane = this.lanes.get(delay);
    if (!lane) this.lanes.set(delay, (lane = new Lane(delay, this.lanes)));
    const e = new DelayedEvent(Math.ceil(performance.now() + delay), lane, owner, id, target, event);
    lane.add(e);
    return e;
  }

  cancel(e: DelayedEvent): void {
    if (e.owner === null) return;
    e.release();
    e.lane.dropOne();
  }

  /** Delayed events waiting, over all lanes. */
  get pending(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += l.live;
    return n;
  }
}
