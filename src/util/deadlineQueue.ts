/**
 * Deadlines kept in a binary min-heap, with one timer armed for the earliest. Thousands of
 * pending deadlines cost one timer; stale entries are skipped when they surface (lazy deletion).
 */
export class DeadlineQueue<T> {
  private heap: Array<{ at: number; item: T }> = [];
  private timer: NodeJS.Timeout | null = null;
  private armedFor = Infinity;

  constructor(private readonly onDue: (item: T, at: number) => void, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.heap.length;
  }

  add(at: number, item: T): void {
    const h = this.heap;
    h.push({ at, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.at <= h[i]!.at) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
    if (at < this.armedFor) this.arm();
  }

  private pop(): { at: number; item: T } | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
    const top = this.heap[0];
    if (!top) return;
    this.armedFor = top.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, top.at - this.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    this.armedFor = Infinity;
    const now = this.now();
    while (this.heap.length && this.heap[0]!.at <= now) {
      const e = this.pop()!;
      this.onDue(e.item, e.at);
    }
    this.arm();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.heap = [];
    this.armedFor = Infinity;
  }
}
