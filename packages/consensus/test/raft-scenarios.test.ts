import { expect } from 'chai';
import { DEFAULT_RAFT_CONFIG, validateRaftConfig } from '../src/config.ts';
import { RaftError } from '../src/errors.ts';
import { enc, Network } from './raft-harness.ts';

describe('Raft scenarios', () => {
  it('a partitioned old leader rejoins: it steps down and its uncommitted entries are discarded', () => {
    const net = new Network(['a', 'b', 'c', 'd', 'e']);
    net.elect('a');
    net.propose('a', 'committed');
    net.partition(['a', 'b'], ['c', 'd', 'e']);
    net.core('a').propose(enc('lost'));
    net.stabilize();
    const oldTerm = net.core('a').status().term;
    net.tick(30);
    const l = net.leader(['c', 'd', 'e'])!;
    expect(l).to.be.a('string');
    net.propose(l, 'new');
    expect(net.core('a').status().role).to.equal('follower'); // check-quorum deposed it meanwhile
    net.heal();
    net.tick(5);
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      expect(net.values(id), id).to.deep.equal(['committed', 'new']);
      expect(net.core(id).status().term).to.be.greaterThan(oldTerm);
    }
    net.checkSafety();
  });

  it('a node down for long catches up by snapshot after it restarts', () => {
    const net = new Network(['a', 'b', 'c'], { config: { snapshotChunkBytes: 64 } });
    net.elect('a');
    net.propose('a', 'early');
    net.down.add('c');
    for (let i = 0; i < 40; i++) net.propose('a', `v${i}`);
    for (const id of ['a', 'b']) {
      const applied = net.sm.get(id)!.appliedIndex;
      net.core(id).compact(applied, enc(JSON.stringify(net.values(id))));
    }
    net.down.delete('c');
    net.restart('c', { voters: ['a', 'b', 'c'], learners: [], votersOutgoing: [] });
    net.tick(15);
    expect(net.values('c')).to.deep.equal(net.values('a'));
    expect(net.readies.get('c')!.filter((r) => r.snapshot)).to.have.length(1);
    expect(net.core('a').status().leaderId).to.equal('a'); // the rejoining node did not disrupt
    net.checkSafety();
  });

  it('a learner joins a busy group, catches up by snapshot, is promoted and can take over leadership', () => {
    const net = new Network(['a', 'b', 'c'], { config: { snapshotChunkBytes: 128 } });
    net.elect('a');
    for (let i = 0; i < 20; i++) net.propose('a', `v${i}`);
    net.core('a').compact(net.sm.get('a')!.appliedIndex, enc(JSON.stringify(net.values('a'))));
    net.addNode('d');
    net.core('a').proposeConfChange({ changes: [{ op: 'addLearner', nodeId: 'd' }] });
    net.stabilize();
    net.tick(5);
    expect(net.values('d')).to.deep.equal(net.values('a'));
    net.core('a').proposeConfChange({ changes: [{ op: 'addVoter', nodeId: 'd' }] });
    net.stabilize();
    net.tick(2);
    expect(net.core('d').status().confState.voters).to.include('d');
    net.core('a').transferLeadership('d');
    net.stabilize();
    expect(net.core('d').status().role).to.equal('leader');
    net.propose('d', 'from-d');
    expect(net.values('b').at(-1)).to.equal('from-d');
    net.checkSafety();
  });

  it('a group restarted before its bootstrap entry committed still elects (membership from entry 1)', () => {
    const net = new Network(['a', 'b', 'c']);
    net.filter = (m) => m.type !== 'appendResp';
    net.elect('a');
    net.tick(1);
    expect(net.disks.get('b')!.entries).to.have.length(1);
    expect(net.disks.get('b')!.hardState.commit).to.equal(0);
    net.filter = null;
    for (const id of ['a', 'b', 'c']) net.restart(id); // no initialConfState
    expect(net.core('b').status().confState.voters).to.deep.equal(['a', 'b', 'c']);
    const l = net.tickUntilLeader();
    net.propose(l, 'x');
    for (const id of ['a', 'b', 'c']) expect(net.values(id)).to.deep.equal(['x']);
  });

  it('the whole group restarts from disk and carries on', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
    net.tick(1);
    for (const id of ['a', 'b', 'c']) net.restart(id);
    const l = net.tickUntilLeader();
    net.propose(l, 'v5');
    net.tick(2);
    for (const id of ['a', 'b', 'c']) expect(net.values(id)).to.deep.equal(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    net.checkSafety();
  });
});

describe('RaftConfig validation', () => {
  it('fills defaults: pre-vote and check-quorum on', () => {
    const c = validateRaftConfig({});
    expect(c).to.deep.equal(DEFAULT_RAFT_CONFIG);
    expect(c).to.include({ preVote: true, checkQuorum: true });
  });

  const bad: [string, Record<string, unknown>][] = [
    ['electionTimeoutTicks', { electionTimeoutTicks: 0 }],
    ['maxMsgBytes', { maxMsgBytes: 1.5 }],
    ['heartbeatIntervalTicks', { heartbeatIntervalTicks: 10, electionTimeoutTicks: 10 }],
    ['preVote', { preVote: 'yes' }],
    ['maxInflightTypo', { maxInflightTypo: 3 }],
  ];
  for (const [field, cfg] of bad) {
    it(`rejects a bad ${field} with ERR_CONFIG_INVALID naming the field`, () => {
      expect(() => validateRaftConfig(cfg)).to.throw(RaftError, field).with.property('code', 'ERR_CONFIG_INVALID');
    });
  }
});
