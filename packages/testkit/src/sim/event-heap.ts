// The event heap of both simulators (sim/event-queue.ts and cluster/virtual-time.ts): a binary
// min-heap on (time, seq). `seq` is unique and grows with each scheduling, so the order is total:
// equal times run in the order they were scheduled, and a run is a pure function of its seed.

export interface HeapEvent {
  /** Scheduling order: unique, increasing. */
  readonly seq: number;
}

export class EventHeap<E extends HeapEvent> {
  private readonly items: E[] = [];

  /** `timeOf` reads the event's virtual time (whatever its unit). */
  constructor(private readonly timeOf: (e: E) => number) {}

  get size(): number {
    return this.items.length;
  }

  peek(): E | undefined {
    return this.items[0];
  }

  push(e: E): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  /** Removes and returns the earliest event. */
  pop(): E | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  private before(x: E, y: E): boolean {
    const tx = this.timeOf(x);
    const ty = this.timeOf(y);
    return tx < ty || (tx === ty && x.seq < y.seq);
  }
}
