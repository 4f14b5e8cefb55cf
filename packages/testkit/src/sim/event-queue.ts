// The simulator's only notion of time: a priority queue of events ordered by virtual time, ties
// broken by insertion order, so a run is a pure function of its seed (TigerBeetle's VOPR).

export interface SimEvent {
  time: number;
  seq: number;
  label: string;
  run: () => void;
}

/** Binary min-heap on (time, seq). */
export class EventQueue {
  private readonly heap: SimEvent[] = [];
  private seq = 0;
  now = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(delayMs: number, label: string, run: () => void): void {
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new TypeError(`schedule: bad delay ${delayMs}`);
    const ev: SimEvent = { time: this.now + delayMs, seq: this.seq++, label, run };
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  /** Removes the earliest event and advances `now` to its time. */
  pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    if (top.time < this.now) throw new Error('event queue went back in time');
    this.now = top.time;
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
