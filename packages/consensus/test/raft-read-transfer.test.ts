import { expect } from 'chai';
import { RaftError } from '../src/errors.ts';
import { dec, enc, Network } from './raft-harness.ts';

const reads = (net: Network, id: string): { index: number; ctx: string }[] =>
  net.reads.get(id)!.map((r) => ({ index: r.index, ctx: dec(r.requestCtx) }));

describe('Raft ReadIndex (thesis §6.4)', () => {
  it('the leader serves a read at its commit index once a heartbeat round reaches a quorum', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    const commit = net.core('a').status().commit;
    net.core('a').readIndex(enc('r1'));
    net.processReadies();
    expect(reads(net, 'a')).to.deep.equal([]); // not before the quorum answered
    net.stabilize();
    expect(reads(net, 'a')).to.deep.equal([{ index: commit, ctx: 'r1' }]);
  });

  it('reads that arrive before the next Ready share one heartbeat round, and a read after it waits for the next', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    net.stabilize();
    const heartbeatsToB = (): number => net.delivered.filter((m) => m.type === 'heartbeat' && m.to === 'b').length;
    const before = heartbeatsToB();
    for (const r of ['r1', 'r2', 'r3']) net.core('a').readIndex(enc(r));
    net.stabilize();
    expect(heartbeatsToB() - before).to.equal(1);
    const commit = net.core('a').status().commit;
    expect(reads(net, 'a')).to.deep.equal(['r1', 'r2', 'r3'].map((ctx) => ({ index: commit, ctx })));
    net.core('a').readIndex(enc('r4'));
    net.stabilize();
    expect(heartbeatsToB() - before).to.equal(2);
    expect(reads(net, 'a').map((r) => r.ctx)).to.deep.equal(['r1', 'r2', 'r3', 'r4']);
  });

  it('refuses before the leader committed an entry of its term (ERR_READ_NOT_READY)', () => {
    const net = new Network(['a', 'b', 'c']);
    net.filter = (m) => m.type !== 'appendResp';
    net.elect('a');
    expect(() => net.core('a').readIndex(enc('r'))).to.throw(RaftError).with.property('code', 'ERR_READ_NOT_READY');
    net.filter = null;
    net.tick(1);
    net.core('a').readIndex(enc('r'));
    net.stabilize();
    expect(reads(net, 'a')).to.have.length(1);
  });

  it('a follower forwards its read to the leader and receives the read point', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    net.core('b').readIndex(enc('rb'));
    net.stabilize();
    expect(reads(net, 'b')).to.deep.equal([{ index: net.core('a').status().commit, ctx: 'rb' }]);
  });

  it('a forwarded read reaching a leader that cannot serve it yet returns nothing', () => {
    const net = new Network(['a', 'b', 'c']);
    net.filter = (m) => m.type !== 'appendResp';
    net.elect('a');
    net.core('b').step({ type: 'heartbeat', from: 'a', to: 'b', term: net.core('a').status().term, commit: 0, readCtxSeq: 0 });
    net.core('b').readIndex(enc('rb'));
    net.stabilize();
    expect(net.delivered.some((m) => m.type === 'readIndexResp' && !m.ok)).to.equal(true);
    expect(reads(net, 'b')).to.deep.equal([]);
  });

  it('an isolated leader cannot confirm a read', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.tick(1);
    net.isolate('a');
    net.core('a').readIndex(enc('r'));
    net.tick(5, ['a']);
    expect(reads(net, 'a')).to.deep.equal([]);
  });

  it('without a known leader a read is refused (ERR_NOT_LEADER)', () => {
    const net = new Network(['a', 'b', 'c']);
    expect(() => net.core('a').readIndex(enc('r'))).to.throw(RaftError).with.property('code', 'ERR_NOT_LEADER');
  });

  it('a single-voter leader serves reads at once', () => {
    const net = new Network(['a']);
    net.elect('a');
    net.core('a').readIndex(enc('r'));
    net.stabilize();
    expect(reads(net, 'a')).to.deep.equal([{ index: 1, ctx: 'r' }]);
  });
});

describe('Raft leadership transfer (thesis §3.10)', () => {
  it('transfers to an up-to-date follower, which leads at the next term', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    const t = net.core('a').status().term;
    net.core('a').transferLeadership('b');
    net.stabilize();
    expect(net.core('b').status()).to.include({ role: 'leader', term: t + 1 });
    expect(net.core('a').status()).to.include({ role: 'follower', leaderId: 'b' });
  });

  it('under proposals: catches a lagging target up first and refuses new proposals meanwhile', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
    net.core('a').transferLeadership('c');
    expect(() => net.core('a').propose(enc('late')))
      .to.throw(RaftError)
      .with.property('code', 'ERR_TRANSFER_IN_PROGRESS');
    net.heal();
    net.tick(2);
    expect(net.core('c').status().role).to.equal('leader');
    expect(net.values('c')).to.deep.equal(['v0', 'v1', 'v2', 'v3', 'v4']);
    net.propose('c', 'v5');
    expect(net.values('a').at(-1)).to.equal('v5');
    net.checkSafety();
  });

  it('aborts after an election timeout if the target does not catch up', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.core('a').transferLeadership('c');
    expect(net.core('a').status().leadTransferee).to.equal('c');
    expect(net.core('a').hasQuorumLease()).to.equal(false);
    net.tick(10);
    expect(net.core('a').status()).to.include({ role: 'leader', leadTransferee: null });
    net.propose('a', 'y');
    expect(net.values('b')).to.deep.equal(['x', 'y']);
  });

  it('refuses on a follower (ERR_NOT_LEADER) and to a non-voter (ERR_TRANSFER_INVALID)', () => {
    const net = new Network(['a', 'b', 'c'], { learners: ['l'] });
    net.elect('a');
    expect(() => net.core('b').transferLeadership('c')).to.throw(RaftError).with.property('code', 'ERR_NOT_LEADER');
    expect(() => net.core('a').transferLeadership('l')).to.throw(RaftError).with.property('code', 'ERR_TRANSFER_INVALID');
    expect(() => net.core('a').transferLeadership('zz')).to.throw(RaftError).with.property('code', 'ERR_TRANSFER_INVALID');
  });
});
