import { expect } from 'chai';
import { Network } from './raft-harness.ts';

describe('Raft smoke: three nodes elect and replicate', () => {
  it('elects a leader by ticking and replicates proposals to all', () => {
    const net = new Network(['a', 'b', 'c']);
    const l = net.tickUntilLeader();
    net.propose(l, 'x');
    net.propose(l, 'y');
    net.tick(2);
    for (const id of ['a', 'b', 'c']) expect(net.values(id)).to.deep.equal(['x', 'y']);
  });
});
