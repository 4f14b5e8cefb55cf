import { expect } from 'chai';
import type { Message, VoteResponse } from '../src/messages.ts';
import { drain, entries, mkCore, Network } from './raft-harness.ts';

const voteReq = (from: string, to: string, term: number, lastLogIndex: number, lastLogTerm: number, transfer = false): Message => ({
  type: 'vote', from, to, term, lastLogIndex, lastLogTerm, transfer,
});
const preVoteReq = (from: string, to: string, term: number, lastLogIndex: number, lastLogTerm: number): Message => ({
  type: 'preVote', from, to, term, lastLogIndex, lastLogTerm,
});
const responses = (msgs: Message[]): VoteResponse[] =>
  msgs.filter((m): m is VoteResponse => m.type === 'voteResp' || m.type === 'preVoteResp');

describe('Raft §5.1 terms', () => {
  it('a node seeing a higher term adopts it, clears its vote and becomes follower', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    const t = net.core('a').status().term;
    net.core('a').step({ type: 'appendResp', from: 'b', to: 'a', term: t + 5, success: false, index: 0, rejectHint: 0, rejectHintTerm: 0 });
    const st = net.core('a').status();
    expect(st).to.include({ role: 'follower', term: t + 5, vote: null, leaderId: null });
  });

  it('a message from a stale term is refused and answered with the current term', () => {
    const c = mkCore('b', { term: 3 });
    c.step({ type: 'append', from: 'a', to: 'b', term: 1, prevLogIndex: 0, prevLogTerm: 0, entries: entries([[1, 1]]), commit: 1 });
    const out = drain(c);
    expect(c.status().lastIndex).to.equal(0);
    expect(out).to.have.length(1);
    expect(out[0]).to.include({ type: 'appendResp', term: 3, success: false });
  });

  it('the term survives a restart (it is in the persisted hard state)', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('b');
    const t = net.core('b').status().term;
    net.restart('b', { voters: ['a', 'b', 'c'], learners: [], votersOutgoing: [] });
    expect(net.core('b').status()).to.include({ term: t, vote: 'b', role: 'follower' });
  });
});

describe('Raft §5.2 leader election', () => {
  it('a single voter elects itself at once and commits after persisting', () => {
    const net = new Network(['a']);
    net.core('a').campaign();
    expect(net.core('a').status().role).to.equal('leader');
    const r1 = net.core('a').ready();
    expect(r1.entries.map((e) => e.index)).to.deep.equal([1]);
    expect(r1.committedEntries).to.have.length(0); // not persisted yet
    net.core('a').advance(r1);
    const r2 = net.core('a').ready();
    expect(r2.committedEntries.map((e) => e.index)).to.deep.equal([1]);
    expect(r2.hardState?.commit).to.equal(1);
    net.core('a').advance(r2);
  });

  it('a follower hearing nothing for an election timeout campaigns; pre-vote keeps the first term at 1', () => {
    const net = new Network(['a', 'b', 'c']);
    const l = net.tickUntilLeader();
    expect(net.core(l).status().term).to.equal(1);
    for (const id of ['a', 'b', 'c']) expect(net.core(id).status().leaderId).to.equal(l);
  });

  it('a candidate wins with votes from a majority even if a minority is unreachable', () => {
    const net = new Network(['a', 'b', 'c', 'd', 'e']);
    net.isolate('d');
    net.isolate('e');
    net.elect('a');
    expect(net.core('b').status().leaderId).to.equal('a');
  });

  it('a candidate without a majority does not become leader', () => {
    const net = new Network(['a', 'b', 'c', 'd', 'e'], { config: { preVote: false } });
    net.isolate('c');
    net.isolate('d');
    net.isolate('e');
    net.core('a').campaign();
    net.stabilize();
    expect(net.core('a').status().role).to.equal('candidate');
    expect(net.core('b').status().vote).to.equal('a');
  });

  it('a node grants at most one vote per term', () => {
    const c = mkCore('a', { term: 1 });
    c.step(voteReq('b', 'a', 2, 0, 0));
    c.step(voteReq('c', 'a', 2, 0, 0));
    const rs = responses(drain(c));
    expect(rs.map((r) => [r.from, r.to, r.granted])).to.deep.equal([
      ['a', 'b', true],
      ['a', 'c', false],
    ]);
    expect(c.status().vote).to.equal('b');
  });

  it('the vote is in the hard state of the same Ready that carries the vote response', () => {
    const c = mkCore('a', { term: 1 });
    c.step(voteReq('b', 'a', 2, 0, 0));
    const rd = c.ready();
    expect(rd.hardState).to.deep.equal({ term: 2, vote: 'b', commit: 0 });
    expect(rd.mustSync).to.equal(true);
    expect(rd.messages[0]).to.include({ type: 'voteResp', granted: true });
  });

  it('split votes are resolved by randomized timeouts', () => {
    const net = new Network(['a', 'b', 'c', 'd'], { config: { preVote: false }, seed: 3 });
    // a hears only b, d hears only c: b and c get two votes each of four, no one wins.
    net.partition(['a'], ['c']);
    net.partition(['d'], ['b']);
    net.partition(['b'], ['c']);
    net.core('b').campaign();
    net.core('c').campaign();
    net.stabilize();
    expect(net.core('b').status().role).to.equal('candidate');
    expect(net.core('c').status().role).to.equal('candidate');
    const splitTerm = net.core('b').status().term;
    net.heal();
    const l = net.tickUntilLeader();
    expect(net.core(l).status().term).to.be.greaterThan(splitTerm);
    net.tick(3);
    for (const id of ['a', 'b', 'c', 'd']) expect(net.core(id).status().leaderId).to.equal(l);
  });

  it('election timeouts are drawn from [e, 2e) and differ between nodes', () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 12; seed++) {
      const c = mkCore('a', { seed, config: { preVote: true } });
      let t = 0;
      while (c.status().role === 'follower') {
        c.tick();
        t++;
      }
      expect(t).to.be.within(10, 19);
      seen.add(t);
    }
    expect(seen.size).to.be.greaterThan(1);
  });

  it('a leader sends a heartbeat to every follower each heartbeatIntervalTicks', () => {
    const net = new Network(['a', 'b', 'c'], { config: { heartbeatIntervalTicks: 2 } });
    net.elect('a');
    const before = net.delivered.length;
    net.tick(10);
    const hb = net.delivered.slice(before).filter((m) => m.type === 'heartbeat');
    expect(hb.length).to.equal(10); // 5 rounds × 2 followers
  });

  it('a candidate that hears from a leader of its term becomes follower', () => {
    const c = mkCore('a', { config: { preVote: false } });
    c.campaign();
    expect(c.status()).to.include({ role: 'candidate', term: 1 });
    c.step({ type: 'heartbeat', from: 'b', to: 'a', term: 1, commit: 0, readCtxSeq: 0 });
    expect(c.status()).to.include({ role: 'follower', term: 1, leaderId: 'b' });
  });

  it('non-voters never campaign', () => {
    const net = new Network(['a', 'b'], { learners: ['l'] });
    net.elect('a');
    net.isolate('a');
    net.tick(60, ['l']);
    expect(net.core('l').status()).to.include({ role: 'follower' });
  });
});

describe('Raft §5.4.1 election restriction', () => {
  const log = entries([[1, 1], [2, 2], [3, 2]]);
  const cases: [string, number, number, boolean][] = [
    ['lower last term', 5, 1, false],
    ['same last term, shorter log', 2, 2, false],
    ['same last term, same length', 3, 2, true],
    ['same last term, longer log', 4, 2, true],
    ['higher last term, shorter log', 1, 3, true],
  ];
  for (const [name, idx, term, granted] of cases) {
    it(`a vote request with ${name} is ${granted ? 'granted' : 'denied'}`, () => {
      const c = mkCore('a', { term: 2, entries: log, commit: 1 });
      c.step(voteReq('b', 'a', 3, idx, term));
      const [r] = responses(drain(c));
      expect(r?.granted).to.equal(granted);
    });
  }

  it('a node missing committed entries cannot become leader', () => {
    const net = new Network(['a', 'b', 'c'], { config: { preVote: false } });
    net.elect('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.heal();
    net.core('c').campaign();
    net.stabilize();
    expect(net.core('c').status().role).to.not.equal('leader');
    const l = net.tickUntilLeader();
    expect(l).to.not.equal('c');
    net.tick(3);
    expect(net.values('c')).to.deep.equal(['x']);
  });
});

describe('Raft pre-vote (thesis §9.6)', () => {
  it('a partitioned node does not inflate its term and does not disrupt the leader when it rejoins', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    const t = net.core('a').status().term;
    net.isolate('c');
    net.tick(100);
    expect(net.core('c').status().term).to.equal(t);
    net.heal();
    net.tick(20);
    expect(net.core('a').status()).to.include({ role: 'leader', term: t });
    expect(net.core('c').status()).to.include({ leaderId: 'a', term: t });
  });

  it('without pre-vote and check-quorum the same partition inflates the term and deposes the leader', () => {
    const net = new Network(['a', 'b', 'c'], { config: { preVote: false, checkQuorum: false } });
    net.elect('a');
    const t = net.core('a').status().term;
    net.isolate('c');
    net.tick(100, ['c']);
    expect(net.core('c').status().term).to.be.greaterThan(t + 2);
    net.heal();
    net.tick(25);
    expect(net.core('a').status().term).to.be.greaterThan(t);
  });

  it('a pre-vote is refused while the voter heard from a leader within the election timeout', () => {
    const c = mkCore('a', { term: 1 });
    c.step({ type: 'heartbeat', from: 'b', to: 'a', term: 1, commit: 0, readCtxSeq: 0 });
    drain(c);
    c.step(preVoteReq('c', 'a', 2, 5, 1));
    expect(responses(drain(c))).to.have.length(0);
    for (let i = 0; i < 10; i++) c.tick();
    drain(c);
    c.step(preVoteReq('c', 'a', 2, 5, 1));
    const [r] = responses(drain(c));
    expect(r).to.include({ type: 'preVoteResp', granted: true, term: 2 });
    expect(c.status().term).to.equal(1); // granting a pre-vote changes nothing durable
  });

  it('a pre-vote is refused to a candidate whose log is behind', () => {
    const c = mkCore('a', { term: 2, entries: entries([[1, 1], [2, 2]]), commit: 1 });
    c.step(preVoteReq('c', 'a', 3, 1, 1));
    const [r] = responses(drain(c));
    expect(r).to.include({ granted: false });
  });
});

describe('Raft check-quorum (thesis §6.2)', () => {
  it('an isolated leader steps down after an election timeout', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('a');
    net.tick(9, ['a']);
    expect(net.core('a').status().role).to.equal('leader');
    net.tick(12, ['a']);
    expect(net.core('a').status()).to.include({ role: 'follower', leaderId: null });
  });

  it('leader stickiness: a vote request is ignored while the leader is fresh, unless it is a transfer', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    const t = net.core('b').status().term;
    net.core('b').step(voteReq('c', 'b', t + 1, 100, t));
    expect(net.core('b').status().term).to.equal(t);
    net.core('b').step(voteReq('c', 'b', t + 1, 100, t, true));
    expect(net.core('b').status()).to.include({ term: t + 1, vote: 'c' });
  });

  it('the quorum lease holds while a quorum answers heartbeats and lapses within an election timeout of isolation', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    expect(net.core('a').hasQuorumLease()).to.equal(false); // no heartbeat round answered yet
    net.tick(1);
    expect(net.core('a').hasQuorumLease()).to.equal(true);
    net.tick(30);
    expect(net.core('a').hasQuorumLease()).to.equal(true);
    net.isolate('a');
    net.tick(9, ['a']);
    expect(net.core('a').hasQuorumLease()).to.equal(true);
    net.tick(1, ['a']);
    expect(net.core('a').hasQuorumLease()).to.equal(false);
    expect(net.core('b').hasQuorumLease()).to.equal(false);
  });

  it('a new leader knows when the deposed leader\'s lease lapsed: counted from its voters\' last contact, not from its election', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.tick(30);
    net.isolate('a');
    let lapsedAt: number | null = null;
    for (let t = 1; t <= 200; t++) {
      net.tick(1);
      if (lapsedAt === null && !net.core('a').hasQuorumLease()) lapsedAt = t;
      const winner = ['b', 'c'].find((id) => net.core(id).status().role === 'leader');
      if (winner === undefined) continue;
      const remaining = net.core(winner).priorLeaseRemainingTicks();
      expect(remaining).to.be.a('number');
      // The old lease ran out no later than the new leader says (the fence's safety) …
      expect(lapsedAt).to.not.equal(null);
      expect(lapsedAt! - t).to.be.at.most(remaining!);
      // … and its voters waited out an election timeout since their last contact, so it has lapsed already.
      expect(remaining!).to.be.at.most(0);
      return;
    }
    expect.fail('no new leader');
  });

  it('after a leadership transfer, whose voters heard the old leader just now, the new leader waits about a whole lease', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.tick(5);
    net.core('a').transferLeadership('b');
    net.stabilize();
    expect(net.core('b').status().role).to.equal('leader');
    expect(net.core('b').priorLeaseRemainingTicks()).to.be.within(net.config.electionTimeoutTicks - 1, net.config.electionTimeoutTicks);
    expect(net.core('a').priorLeaseRemainingTicks()).to.equal(null);
  });

  it('a restarted voter refuses to help elect a new leader for an election timeout (its acks may back a lease)', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.tick(2);
    net.restart('b', { voters: ['a', 'b', 'c'], learners: [], votersOutgoing: [] });
    const t = net.core('b').status().term;
    net.core('b').step(preVoteReq('c', 'b', t + 1, 100, t));
    expect(responses(drain(net.core('b')))).to.have.length(0);
  });
});
