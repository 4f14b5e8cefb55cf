// Aimed faults of the Raft VOPR (src/sim/simulator.ts). Figure 8 (Raft §5.4.2): appends carrying
// the sender's current-term entries are lost while older-term ones arrive, and a run that draws it
// crashes the leader at its start and the next leader at its end. Membership bursts while a
// partition is in force (thesis §4.1).
import { SeededRandom, type Entry, type Message } from '@adrestia/consensus';
import { expect } from 'chai';
import { EventQueue } from '../src/sim/event-queue.ts';
import { SimNetwork } from '../src/sim/network.ts';
import { deriveOptions } from '../src/sim/options.ts';
import { runSimulation } from '../src/sim/simulator.ts';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index]) });
const append = (term: number, entries: Entry[]): Message => ({ type: 'append', from: 'n1', to: 'n2', term, prevLogIndex: 0, prevLogTerm: 0, entries, commit: 0 });

describe('Raft VOPR: Figure-8 schedules (Raft §5.4.2)', () => {
  it('while set, the network loses appends with an entry of the sender’s term and delivers older-term ones', () => {
    const queue = new EventQueue();
    const delivered: Message[] = [];
    const net = new SimNetwork(queue, new SeededRandom(1), { ...deriveOptions(1), lossRate: 0, duplicateRate: 0 }, (m) => delivered.push(m));
    net.dropCurrentTermAppends = true;
    const old = append(3, [entry(2, 2)]);
    net.send(old);
    net.send(append(3, [entry(3, 3)]));
    net.send(append(3, [entry(2, 2), entry(3, 3)]));
    net.dropCurrentTermAppends = false;
    const later = append(3, [entry(3, 3)]);
    net.send(later);
    for (let e = queue.pop(); e !== undefined; e = queue.pop()) e.run();
    expect(delivered).to.deep.equal([old, later]);
    expect(net.dropped).to.equal(2);
  });

  it('a run with one-entry appends draws it: the leader crashes, then the leader elected under the loss; safety holds', async () => {
    const trace: string[] = [];
    const r = await runSimulation(8, {
      override: { maxMsgBytes: 64, crashWeight: 3, partitionWeight: 0, transferWeight: 0, membershipWeight: 0, spareNodes: 0, chaosIntervalMs: 250 },
      onTrace: (line) => trace.push(line),
    });
    expect(r.violation, r.violation?.detail).to.equal(null);
    expect(trace.some((l) => l.includes('figure 8: leader')), 'the fault was drawn').to.equal(true);
    expect(trace.some((l) => /figure 8 ends: leader \S+ crashes/.test(l)), 'the next leader crashed at its end').to.equal(true);
  });
});

describe('Raft VOPR: membership bursts during partitions (thesis §4.1)', () => {
  it('a run with membership changes draws bursts right after partitions; the burst’s later changes are refused while one is pending', async () => {
    const trace: string[] = [];
    const r = await runSimulation(2, {
      override: { membershipWeight: 2, spareNodes: 2, partitionWeight: 3, crashWeight: 0, transferWeight: 0 },
      onTrace: (line) => trace.push(line),
    });
    expect(r.violation, r.violation?.detail).to.equal(null);
    const afterPartition = trace.flatMap((l, i) => (/membership burst of/.test(l) && /partition|isolate leader/.test(trace[i - 1] ?? '') ? [i] : []));
    expect(afterPartition.length, 'bursts drawn right after a partition').to.be.greaterThan(0);
    const refusedInBurst = afterPartition.some((i) => trace.slice(i + 1, i + 8).some((l) => /membership \S+ \S+ via \S+: refused/.test(l)));
    expect(refusedInBurst, 'a second change of a burst refused').to.equal(true);
  });
});
