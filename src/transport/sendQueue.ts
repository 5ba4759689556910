/**
 * Datagrams queued before the queue leaves without waiting for the end of the turn: a safety
 * bound (libuv reads at most 32 datagrams of a socket per poll, and each makes one or two).
 */
export const SEND_BURST = 64;

/**
 * Datagrams out, sent in bursts (BENCHMARKS.md, finding 20): the queue leaves at the end of this
 * turn of the event loop (`setImmediate`, after every datagram one poll of the socket read), or
 * at once when it holds SEND_BURST datagrams. A datagram to a process that sleeps on its socket
 * makes the kernel wake that process, and on a virtual machine the wake-up costs more than the
 * rest of sendmsg(); the datagrams after the first of a burst to the same peer find it awake.
 */
export class SendQueue {
  private readonly items: Array<Buffer | string | number> = [];
  private armed = false;
  private flushing = false;

  /** `send` puts one datagram on the wire; `refused` counts one that `send` threw for. */
  constructor(private readonly send: (data: Buffer, host: string, port: number) => void, private readonly refused: () => void) {}

  /** Datagrams waiting for the end of the turn. */
  get length(): number {
    return this.items.length / 3;
  }

  push(data: Buffer, host: string, port: number): void {
    const q = this.items;
    q.push(data, host, port);
    if (q.length >= SEND_BURST * 3) this.flush();
    else if (!this.armed) {
      this.armed = true;
      setImmediate(this.flushLater);
    }
  }

  /**
   * Sends what is queued, in order. A flush asked for while one runs (a `send` that queues more)
   * is left to the running one, which reads the queue's length as it goes.
   */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    const q = this.items;
    try {
      for (let i = 0; i < q.length; i += 3) {
        try {
          this.send(q[i] as Buffer, q[i + 1] as string, q[i + 2] as number);
        } catch {
          this.refused();
        }
      }
    } finally {
      q.length = 0;
      this.flushing = false;
    }
  }

  private readonly flushLater = (): void => {
    this.armed = false;
    this.flush();
  };
}
