// The simulator's only notion of time: a priority queue of events ordered by virtual time, ties
// broken by insertion order, so a run is a pure function of its seed (TigerBeetle's VOPR).
import { EventHeap } from './event-heap.ts';

export interface SimEvent {
  time: number;
  seq: number;
  label: string;
  run: () => void;
}

/** Events on virtual milliseconds, in (time, seq) order. */
export class EventQueue {
  private readonly heap = new EventHeap<SimEvent>((e) => e.time);
  private seq = 0;
  now = 0;

  get size(): number {
    return this.heap.size;
  }

  schedule(delayMs: number, label: string, run: () => void): void {
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new TypeError(`schedule: bad delay ${delayMs}`);
    this.heap.push({ time: this.now + delayMs, seq: this.seq++, label, run });
  }

  /** Removes the earliest event and advances `now` to its time. */
  pop(): SimEvent | undefined {
    const top = this.heap.pop();
    if (top === undefined) return undefined;
    if (top.time < this.now) throw new Error('event queue went back in time');
    this.now = top.time;
    return top;
  }
}
