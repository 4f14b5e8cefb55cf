import { expect } from 'chai';
import { decodeConfChange, encodeConfChange } from '../src/conf-change.ts';
import { RaftError } from '../src/errors.ts';
import type { ConfChange, ConfState } from '../src/types.ts';
import { enc, Network } from './raft-harness.ts';

const addLearner = (nodeId: string): ConfChange => ({ changes: [{ op: 'addLearner', nodeId }] });
const addVoter = (nodeId: string): ConfChange => ({ changes: [{ op: 'addVoter', nodeId }] });
const remove = (nodeId: string): ConfChange => ({ changes: [{ op: 'removeNode', nodeId }] });

function changeConf(net: Network, leader: string, cc: ConfChange): void {
  net.core(leader).proposeConfChange(cc);
  net.stabilize();
  net.tick(2);
}

/** a, b, c voters with a leader and two values; d joined as a learner with empty storage. */
function withLearner(): Network {
  const net = new Network(['a', 'b', 'c']);
  net.elect('a');
  net.propose('a', 'v1');
  net.propose('a', 'v2');
  net.addNode('d');
  changeConf(net, 'a', addLearner('d'));
  return net;
}

describe('Raft §6 membership changes', () => {
  it('the first leader writes the founding configuration as entry 1, so members that join later learn it', () => {
    const net = withLearner();
    const first = net.disks.get('d')!.entries[0]!;
    expect(first).to.include({ index: 1, type: 'confChange' });
    expect(decodeConfChange(first.data).changes).to.deep.equal([
      { op: 'addVoter', nodeId: 'a' },
      { op: 'addVoter', nodeId: 'b' },
      { op: 'addVoter', nodeId: 'c' },
    ]);
    expect(net.core('d').status().confState).to.deep.equal({ voters: ['a', 'b', 'c'], learners: ['d'], votersOutgoing: [] });
  });

  it('a new learner receives and applies the whole log', () => {
    const net = withLearner();
    expect(net.values('d')).to.deep.equal(['v1', 'v2']);
    net.propose('a', 'v3');
    expect(net.values('d')).to.deep.equal(['v1', 'v2', 'v3']);
  });

  it('a learner neither votes nor counts toward the commit quorum', () => {
    const net = withLearner();
    net.isolate('b');
    net.isolate('c');
    net.partition(['b', 'c'], ['a', 'd']);
    const commit = net.core('a').status().commit;
    net.propose('a', 'v3');
    expect(net.core('d').status().lastIndex).to.be.greaterThan(commit);
    expect(net.core('a').status().commit).to.equal(commit); // a + d is not a majority of {a,b,c}
    net.tick(60, ['d']);
    expect(net.core('d').status().role).to.equal('follower');
  });

  it('a caught-up learner is promoted to voter by a conf change and then counts for quorum', () => {
    const net = withLearner();
    changeConf(net, 'a', addVoter('d'));
    expect(net.core('a').status().confState.voters).to.deep.equal(['a', 'b', 'c', 'd']);
    net.isolate('b');
    net.propose('a', 'v3'); // a, c, d = 3 of 4
    expect(net.values('d')).to.deep.equal(['v1', 'v2', 'v3']);
    net.isolate('c');
    const commit = net.core('a').status().commit;
    net.core('a').propose(enc('v4')); // a, d = 2 of 4: no commit
    net.stabilize();
    expect(net.core('a').status().commit).to.equal(commit);
  });

  it('a conf change takes effect when applied, not when appended', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.addNode('d');
    net.core('a').proposeConfChange(addLearner('d'));
    expect(net.core('a').status().confState.learners).to.deep.equal([]);
    net.stabilize();
    expect(net.core('a').status().confState.learners).to.deep.equal(['d']);
  });

  it('refuses a second conf change while one is pending (ERR_CONF_CHANGE_PENDING)', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.stabilize();
    net.core('a').proposeConfChange(addLearner('d'));
    expect(() => net.core('a').proposeConfChange(addLearner('e')))
      .to.throw(RaftError)
      .with.property('code', 'ERR_CONF_CHANGE_PENDING');
  });

  it('refuses to change two voters at once or to remove the last voter (ERR_CONF_CHANGE_INVALID)', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.stabilize();
    const two: ConfChange = { changes: [{ op: 'addVoter', nodeId: 'd' }, { op: 'addVoter', nodeId: 'e' }] };
    expect(() => net.core('a').proposeConfChange(two)).to.throw(RaftError).with.property('code', 'ERR_CONF_CHANGE_INVALID');
    const single = new Network(['a']);
    single.elect('a');
    single.stabilize();
    expect(() => single.core('a').proposeConfChange(remove('a'))).to.throw(RaftError).with.property('code', 'ERR_CONF_CHANGE_INVALID');
  });

  it('a removed follower gets no more entries and the rest commit without it', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    changeConf(net, 'a', remove('c'));
    const cLast = net.core('c').status().lastIndex;
    net.isolate('b');
    net.heal();
    net.propose('a', 'after');
    expect(net.core('c').status().lastIndex).to.equal(cLast);
    expect(net.values('b')).to.deep.equal(['after']);
    expect(net.core('a').status().progress).to.not.have.property('c');
  });

  it('a removed voter never campaigns again', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    changeConf(net, 'a', remove('c'));
    const t = net.core('c').status().term;
    net.isolate('c');
    net.tick(80, ['c']);
    expect(net.core('c').status()).to.include({ role: 'follower', term: t });
  });

  it('removing the leader: it steps down once the change is applied and another voter leads', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'v1');
    changeConf(net, 'a', remove('a'));
    expect(net.core('a').status().role).to.equal('follower');
    const l = net.leader() ?? net.tickUntilLeader();
    expect(['b', 'c']).to.include(l);
    expect(net.core(l).status().confState.voters).to.deep.equal(['b', 'c']);
    net.propose(l, 'v2');
    expect(net.values('b')).to.deep.equal(['v1', 'v2']);
    expect(net.values('c')).to.deep.equal(['v1', 'v2']);
    net.checkSafety();
  });

  it('a restarted node rebuilds its configuration from the applied log', () => {
    const net = withLearner();
    const core = net.restart('b', { voters: ['a', 'b', 'c'], learners: [], votersOutgoing: [] });
    net.tick(3);
    expect(core.status().confState).to.deep.equal({ voters: ['a', 'b', 'c'], learners: ['d'], votersOutgoing: [] });
  });

  it('conf changes encode as plain MessagePack and garbage is refused', () => {
    const cc: ConfChange = { changes: [{ op: 'addVoter', nodeId: 'x' }, { op: 'removeNode', nodeId: 'y' }] };
    expect(decodeConfChange(encodeConfChange(cc))).to.deep.equal(cc);
    expect(() => decodeConfChange(new Uint8Array([0xc1]))).to.throw(RaftError).with.property('code', 'ERR_CONF_CHANGE_INVALID');
    expect(() => decodeConfChange(encodeConfChange({ changes: [{ op: 'bogus' as 'addVoter', nodeId: 'x' }] })))
      .to.throw(RaftError)
      .with.property('code', 'ERR_CONF_CHANGE_INVALID');
  });

  it('a follower forwards a conf change to the leader', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.tick(1);
    net.addNode('d');
    net.core('b').proposeConfChange(addLearner('d'));
    net.stabilize();
    net.tick(2);
    const want: ConfState = { voters: ['a', 'b', 'c'], learners: ['d'], votersOutgoing: [] };
    expect(net.core('a').status().confState).to.deep.equal(want);
    expect(net.core('d').status().confState).to.deep.equal(want);
  });
});
