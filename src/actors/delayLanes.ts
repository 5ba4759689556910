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
    /** The piece of its lane's queue it waits in. */
    readonly chunk: LaneChunk,
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
 * Events appended to a lane go into pieces of at most this many. A lane of the 64*T1 delay holds
 * some 150,000 events at 1,000 calls/s: kept as one array, each sweep of its cancelled events
 * copied all of them in one turn of the event loop (3-8 ms, BENCHMARKS.md finding 43), and so
 * did each growth of the array. In pieces, a sweep copies one piece.
 */
const CHUNK_SIZE = 1024;

/**
 * A piece is swept once its cancelled events outnumber half its live ones by this much. Each call
 * leaves two cancelled events in the 64*T1 lane, Timer B (RFC 3261 §17.1.1.2) and the BYE's
 * Timer F (§17.1.2.2), beside three live ones: J (§17.2.2), L and M (RFC 6026); most are
 * cancelled within milliseconds, while their piece still takes appends. A sweep copies at most
 * CHUNK_SIZE events, paid for by the SWEEP_SLACK cancellations since the piece's last sweep; a
 * lane holds at most half as many cancelled events as live ones, plus SWEEP_SLACK a piece
 * (finding 24 for why they are swept at all).
 */
const SWEEP_SLACK = 64;

/** A piece of a lane's queue, in the order its events were scheduled. */
class LaneChunk {
  /** Scheduled events from `head` on; cancelled ones stay until passed or swept. */
  items: DelayedEvent[] = [];
  head = 0;
  /** Scheduled, not yet cancelled or fired. */
  live = 0;

  constructor(readonly lane: Lane) {}

  /** One of its events was cancelled: swept once mostly cancelled (Timers B, F and C usually are). */
  dropOne(): void {
    this.live--;
    if (this.items.length - this.head - this.live > (this.live >> 1) + SWEEP_SLACK) {
      this.items = this.items.slice(this.head).filter((x) => x.owner !== null);
      this.head = 0;
    }
  }
}

class Lane {
  constructor(
    private readonly delay: number,
    /** The lanes by delay: an empty lane leaves it, so odd delays (a Timer C re-armed for its remainder) do not pile up. */
    private readonly byDelay: Map<number, Lane>,
  ) {}

  /** The queue in pieces, oldest first, from `first` on; appends go to the last one. */
  private chunks: LaneChunk[] = [];
  private first = 0;
  /** Scheduled, not yet cancelled or fired. */
  live = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Inside run(): it arms the timer for the head once done (an event added meanwhile is not the head). */
  private running = false;

  /** Events it still holds, cancelled ones included (what the sweeps bound). */
  get held(): number {
    let n = 0;
    for (let i = this.first; i < this.chunks.length; i++) n += this.chunks[i]!.items.length - this.chunks[i]!.head;
    return n;
  }

  /** The piece a new event goes into. */
  tail(): LaneChunk {
    const last = this.chunks[this.chunks.length - 1];
    if (last !== undefined && last.items.length < CHUNK_SIZE) return last;
    const c = new LaneChunk(this);
    this.chunks.push(c);
    return c;
  }

  add(e: DelayedEvent): void {
    e.chunk.items.push(e);
    e.chunk.live++;
    this.live++;
    if (this.timer === null && !this.running) this.arm(e.due);
  }

  /** One of its events was cancelled. */
  dropOne(chunk: LaneChunk): void {
    if (--this.live === 0) {
      // Nothing left to wait for: no timer may keep the process alive or fire for nothing.
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.retire();
    } else chunk.dropOne();
  }

  /** Fires every event due by now, in order, then waits for the next one. */
  run(): void {
    this.timer = null;
    this.running = true;
    try {
      this.fireDue(performance.now());
    } finally {
      this.running = false;
      // Re-armed even when a handler threw: the other owners' events in this lane must still fire.
      if (this.live > 0 && this.timer === null) this.arm(this.firstLive().due);
    }
  }

  private fireDue(now: number): void {
    while (this.first < this.chunks.length) {
      const c = this.chunks[this.first]!;
      while (c.head < c.items.length) {
        const e = c.items[c.head]!;
        const owner = e.owner;
        if (owner !== null && e.due > now) return;
        c.head++;
        if (owner === null) continue;
        const target = e.target;
        const event = e.event!;
        e.release();
        c.live--;
        this.live--;
        // The owner's handler may schedule into this lane (a backed-off retransmission timer).
        owner.fireDelayed(e.id, target, event);
      }
      if (this.first === this.chunks.length - 1) break;
      this.passChunk();
    }
    if (this.live === 0) this.retire();
  }

  /** The oldest event not yet cancelled (there is one: live > 0). */
  private firstLive(): DelayedEvent {
    for (;;) {
      const c = this.chunks[this.first]!;
      while (c.head < c.items.length) {
        const e = c.items[c.head]!;
        if (e.owner !== null) return e;
        c.head++;
      }
      this.passChunk();
    }
  }

  /** The oldest piece is done with; the list of pieces is cut once mostly passed. */
  private passChunk(): void {
    this.chunks[this.first] = undefined as never;
    this.first++;
    if (this.first > 64 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }

  /** Empty: forgotten by its DelayLanes (the next event of this delay starts a new lane). */
  private retire(): void {
    this.chunks = [];
    this.first = 0;
    if (this.byDelay.get(this.delay) === this) this.byDelay.delete(this.delay);
  }

  private arm(due: number): void {
    this.timer = setTimeout(runLane, Math.max(0, Math.ceil(due - performance.now())), this);
  }
}

export type { Lane, LaneChunk };

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
    const e = new DelayedEvent(Math.ceil(performance.now() + delay), lane.tail(), owner, id, target, event);
    lane.add(e);
    return e;
  }

  cancel(e: DelayedEvent): void {
    if (e.owner === null) return;
    e.release();
    e.chunk.lane.dropOne(e.chunk);
  }

  /** Delayed events waiting, over all lanes. */
  get pending(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += l.live;
    return n;
  }
}
