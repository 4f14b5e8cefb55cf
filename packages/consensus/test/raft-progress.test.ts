import { expect } from 'chai';
import { Inflights, Progress } from '../src/progress.ts';
import { jointCommitted, jointVote, majorityCommitted, majorityVote } from '../src/quorum.ts';
import type { ConfState } from '../src/types.ts';
import { mkCore, drain } from './raft-harness.ts';

describe('Raft §5.3 quorum arithmetic', () => {
  const matchOf = (m: Record<string, number>) => (id: string) => m[id] ?? 0;

  it('the commit index is the largest index held by a majority', () => {
    expect(majorityCommitted(['a'], matchOf({ a: 7 }))).to.equal(7);
    expect(majorityCommitted(['a', 'b'], matchOf({ a: 7, b: 3 }))).to.equal(3);
    expect(majorityCommitted(['a', 'b', 'c'], matchOf({ a: 7, b: 3, c: 5 }))).to.equal(5);
    expect(majorityCommitted(['a', 'b', 'c', 'd'], matchOf({ a: 7, b: 3, c: 5, d: 1 }))).to.equal(3);
    expect(majorityCommitted(['a', 'b', 'c', 'd', 'e'], matchOf({ a: 9, b: 8, c: 2, d: 1, e: 0 }))).to.equal(2);
  });

  it('a joint configuration needs a majority of both voter sets', () => {
    const cs: ConfState = { voters: ['a', 'b', 'c'], votersOutgoing: ['c', 'd', 'e'], learners: [] };
    expect(jointCommitted(cs, matchOf({ a: 9, b: 9, c: 1, d: 1, e: 9 }))).to.equal(1);
    expect(jointCommitted(cs, matchOf({ a: 9, b: 9, c: 5, d: 1, e: 9 }))).to.equal(5);
    const votes = new Map([['a', true], ['b', true]]);
    expect(jointVote(cs, votes)).to.equal('pending');
    votes.set('d', false).set('e', false);
    expect(jointVote(cs, votes)).to.equal('lost');
  });

  it('votes are won, lost or pending', () => {
    const voters = ['a', 'b', 'c'];
    expect(majorityVote(voters, new Map([['a', true]]))).to.equal('pending');
    expect(majorityVote(voters, new Map([['a', true], ['b', true]]))).to.equal('won');
    expect(majorityVote(voters, new Map([['a', true], ['b', false], ['c', false]]))).to.equal('lost');
  });
});

describe('Raft §5.3 follower progress (probe, replicate, snapshot)', () => {
  it('the inflight window is bounded and freed by acknowledgements', () => {
    const w = new Inflights(3);
    w.add(5);
    w.add(8);
    w.add(12);
    expect(w.full()).to.equal(true);
    w.freeLE(8);
    expect(w.count).to.equal(1);
    w.freeFirstOne();
    expect(w.count).to.equal(0);
  });

  it('probe sends one append at a time; a reply moves it to replicate, which pipelines', () => {
    const pr = new Progress(11, 4, false);
    expect(pr.isPaused()).to.equal(false);
    pr.sentEntries(2, 12);
    expect(pr.isPaused()).to.equal(true);
    expect(pr.maybeUpdate(12)).to.equal(true);
    pr.becomeReplicate();
    expect(pr.next).to.equal(13);
    for (let i = 0; i < 4; i++) pr.sentEntries(1, 13 + i);
    expect(pr.next).to.equal(17);
    expect(pr.isPaused()).to.equal(true);
  });

  it('a rejection in probe state backs off to the hint; a stale rejection is ignored', () => {
    const pr = new Progress(11, 4, false);
    expect(pr.maybeDecrTo(10, 4)).to.equal(true);
    expect(pr.next).to.equal(5);
    expect(pr.maybeDecrTo(10, 2)).to.equal(false); // answers an older probe
    pr.maybeUpdate(4);
    pr.becomeReplicate();
    expect(pr.maybeDecrTo(3, 0)).to.equal(false); // at or below match: stale
    expect(pr.maybeDecrTo(6, 0)).to.equal(true);
    expect(pr.next).to.equal(5);
  });

  it('after a snapshot the follower is probed right behind it', () => {
    const pr = new Progress(3, 4, false);
    pr.becomeSnapshot(40);
    expect(pr.isPaused()).to.equal(true);
    pr.match = 40;
    pr.becomeProbe();
    expect(pr.next).to.equal(41);
  });
});

describe('Raft Figure 2 election timer', () => {
  it('a refused vote request from a higher term moves the term but does not reset the election timer', () => {
    // A candidate whose log is behind ours raises the term: the term moves, the vote is refused.
    const d = mkCore('a', { config: { preVote: false, checkQuorum: false }, entries: [{ index: 1, term: 1, type: 'normal', data: new Uint8Array() }], commit: 0 });
    let ticks = 0;
    for (; ticks < 9; ticks++) d.tick();
    d.step({ type: 'vote', from: 'b', to: 'a', term: 5, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    drain(d);
    expect(d.status()).to.include({ term: 5, vote: null, role: 'follower' });
    // ...and the timer keeps running: d campaigns within its original [10, 20) window.
    while (d.status().role === 'follower' && ticks < 40) {
      d.tick();
      ticks++;
    }
    expect(ticks).to.be.below(20);
    expect(d.status()).to.include({ role: 'candidate', term: 6 });
  });
});
