// sim/event-heap.ts, the event order of both simulators: (time, seq), equal times in scheduling
// order. A replayed seed depends on it being exactly this order.
import { expect } from 'chai';
import fc from 'fast-check';
import { EventHeap } from '../src/sim/event-heap.ts';

interface Ev {
  at: number;
  seq: number;
}

describe('simulator event heap: (time, seq) order', () => {
  it('pops equal times in the order they were pushed', () => {
    const heap = new EventHeap<Ev>((e) => e.at);
    for (const [seq, at] of [5, 1, 5, 1, 3, 5].entries()) heap.push({ at, seq });
    const order: number[] = [];
    for (let e = heap.pop(); e !== undefined; e = heap.pop()) order.push(e.seq);
    expect(order).to.deep.equal([1, 3, 4, 0, 2, 5]);
    expect(heap.size).to.equal(0);
    expect(heap.peek()).to.equal(undefined);
  });

  it('pops, with pushes and pops interleaved, what a stable sort by time of the pending events gives first (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(-1)), { maxLength: 200 }), (script) => {
        const heap = new EventHeap<Ev>((e) => e.at);
        const pending: Ev[] = [];
        let seq = 0;
        for (const step of script) {
          if (step >= 0) {
            const e = { at: step, seq: seq++ };
            heap.push(e);
            pending.push(e);
          } else {
            pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
            expect(heap.peek()).to.equal(pending[0]);
            expect(heap.pop()).to.equal(pending.shift());
          }
          expect(heap.size).to.equal(pending.length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
