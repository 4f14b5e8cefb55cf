import { expect } from 'chai';
import { SeededRandom } from '../src/random.ts';
import { RaftError, RaftInvariantError } from '../src/errors.ts';
import type { AppendRequest, AppendResponse, Message } from '../src/messages.ts';
import { RaftLog } from '../src/raft-log.ts';
import type { ConfState, Entry } from '../src/types.ts';
import { dec, drain, enc, entries, mkCore, Network, setDisk } from './raft-harness.ts';

const CONF3: ConfState = { voters: ['a', 'b', 'c'], learners: [], votersOutgoing: [] };
const termsLog = (terms: number[]): Entry[] => entries(terms.map((t, i) => [i + 1, t]));
const appends = (msgs: Message[], to: string): AppendRequest[] =>
  msgs.filter((m): m is AppendRequest => m.type === 'append' && m.to === to);
const appResp = (from: string, index: number, term: number): AppendResponse => ({
  type: 'appendResp', from, to: 'a', term, success: true, index, rejectHint: 0, rejectHintTerm: 0,
});

describe('Raft §5.3 log replication', () => {
  it('replicates proposals to every follower, which apply them in log order', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    for (const v of ['x', 'y', 'z']) net.propose('a', v);
    net.tick(2);
    for (const id of ['a', 'b', 'c']) expect(net.values(id)).to.deep.equal(['x', 'y', 'z']);
    net.checkSafety();
  });

  it("overwrites a follower's conflicting entries and fills in missing ones (Figure 7)", () => {
    const net = new Network(['a', 'b', 'c']);
    setDisk(net, 'a', { hardState: { term: 6, vote: null, commit: 3 }, snapshot: null, entries: termsLog([1, 1, 1, 4, 4, 5, 5, 6, 6, 6]) }, CONF3);
    setDisk(net, 'b', { hardState: { term: 4, vote: null, commit: 3 }, snapshot: null, entries: termsLog([1, 1, 1, 4]) }, CONF3);
    setDisk(net, 'c', { hardState: { term: 3, vote: null, commit: 3 }, snapshot: null, entries: termsLog([1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]) }, CONF3);
    net.tick(10); // past the restart grace
    net.elect('a');
    net.tick(2);
    const want = net.disks.get('a')!.entries.map((e) => `${e.index}/${e.term}`);
    expect(want).to.have.length(11);
    for (const id of ['b', 'c']) {
      expect(net.disks.get(id)!.entries.map((e) => `${e.index}/${e.term}`)).to.deep.equal(want);
    }
    expect(net.core('c').status().commit).to.equal(11);
    net.checkSafety();
  });

  it('fast backtracking skips a whole conflicting term per round trip', () => {
    const net = new Network(['a', 'b', 'c']);
    const leaderLog = termsLog([1, ...Array<number>(50).fill(3)]);
    const staleLog = termsLog([1, ...Array<number>(60).fill(2)]);
    setDisk(net, 'a', { hardState: { term: 3, vote: null, commit: 1 }, snapshot: null, entries: leaderLog }, CONF3);
    setDisk(net, 'b', { hardState: { term: 3, vote: null, commit: 1 }, snapshot: null, entries: leaderLog }, CONF3);
    setDisk(net, 'c', { hardState: { term: 2, vote: null, commit: 1 }, snapshot: null, entries: staleLog }, CONF3);
    net.tick(10);
    net.elect('a');
    net.tick(2);
    const rejects = net.delivered.filter((m) => m.type === 'appendResp' && m.from === 'c' && !m.success);
    expect(rejects.length).to.be.at.most(2);
    expect(net.disks.get('c')!.entries.map((e) => e.term)).to.deep.equal([1, ...Array<number>(50).fill(3), 4]);
  });

  it('a follower learns the commit index from heartbeats', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.filter = (m) => !(m.type === 'append' && m.to === 'c' && m.commit >= 2 && m.entries.length === 0);
    net.propose('a', 'x');
    net.filter = null;
    net.tick(1);
    expect(net.core('c').status().commit).to.equal(net.core('a').status().commit);
  });

  it('proposals on a follower are forwarded to the leader', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('c', 'via-c');
    expect(net.values('a')).to.deep.equal(['via-c']);
  });

  it('a proposal with no known leader is refused with ERR_PROPOSAL_DROPPED', () => {
    const net = new Network(['a', 'b', 'c']);
    expect(() => net.core('a').propose(enc('x'))).to.throw(RaftError).with.property('code', 'ERR_PROPOSAL_DROPPED');
  });

  it('safety holds under random partitions, drops and leader changes', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const net = new Network(['a', 'b', 'c', 'd', 'e'], { seed });
      const prng = new SeededRandom(seed * 7919);
      const rnd = (n: number): number => prng.nextInt(n);
      net.filter = () => rnd(10) !== 0; // 10% loss
      let n = 0;
      for (let step = 0; step < 300; step++) {
        const r = rnd(20);
        const ids = ['a', 'b', 'c', 'd', 'e'];
        if (r === 0) net.isolate(ids[rnd(5)]!);
        else if (r === 1) net.heal();
        const l = net.leader();
        if (l && rnd(2) === 0) {
          try {
            net.core(l).propose(enc(`v${n++}`));
          } catch (e) {
            if (!(e instanceof RaftError)) throw e;
          }
        }
        net.tick(1);
        net.checkSafety();
      }
      net.heal();
      net.filter = null;
      net.tick(40);
      const l = net.leader();
      expect(l, `seed ${seed}`).to.not.equal(null);
      const vals = net.values(l!);
      for (const id of ['a', 'b', 'c', 'd', 'e']) expect(net.values(id), `seed ${seed} ${id}`).to.deep.equal(vals);
      expect(vals.length, `seed ${seed}`).to.be.greaterThan(10);
    }
  });
});

describe('Raft §5.4.2 committing entries from previous terms (Figure 8)', () => {
  it('a leader does not commit an old-term entry by counting replicas, only through one of its own term', () => {
    // Figure 8 (c): S1 leads in term 4 with index 2 from term 2 now on a majority (S1, S2, S3).
    const log = termsLog([1, 2]);
    const c = mkCore('a', { voters: ['a', 'b', 'c', 'd', 'e'], term: 3, entries: log, commit: 1, config: { preVote: false } });
    c.campaign();
    for (const v of ['b', 'c']) c.step({ type: 'voteResp', from: v, to: 'a', term: 4, granted: true });
    expect(c.status()).to.include({ role: 'leader', term: 4, lastIndex: 3 });
    drain(c); // persists index 3 (term 4) locally
    c.step(appResp('b', 2, 4));
    c.step(appResp('c', 2, 4));
    drain(c);
    expect(c.status().commit).to.equal(1); // index 2 is on 3 of 5, but from term 2
    c.step(appResp('b', 3, 4));
    c.step(appResp('c', 3, 4));
    drain(c);
    expect(c.status().commit).to.equal(3); // commits 2 indirectly with 3 (Log Matching)
  });

  it('an uncommitted entry of an old term may be overwritten by a later leader (Figure 8 d)', () => {
    const conf: ConfState = { voters: ['a', 'b', 'c', 'd', 'e'], learners: [], votersOutgoing: [] };
    const net = new Network(['a', 'b', 'c', 'd', 'e'], { config: { preVote: false, checkQuorum: false } });
    const mk = (terms: number[], term: number) => ({ hardState: { term, vote: null, commit: 1 }, snapshot: null, entries: termsLog(terms) });
    setDisk(net, 'a', mk([1, 2], 4), conf);
    setDisk(net, 'b', mk([1, 2], 4), conf);
    setDisk(net, 'c', mk([1, 2], 4), conf);
    setDisk(net, 'd', mk([1], 4), conf);
    setDisk(net, 'e', mk([1, 3], 4), conf);
    net.isolate('a');
    net.elect('e'); // b, c (last term 2) and d (shorter) all vote for e (last term 3)
    net.tick(2);
    expect(net.disks.get('b')!.entries.map((e) => e.term)).to.deep.equal([1, 3, 5]);
    net.checkSafety();
  });
});

describe('Raft flow control', () => {
  it('a replicating follower has at most maxInflightMsgs appends outstanding', () => {
    const net = new Network(['a', 'b'], { config: { maxInflightMsgs: 3 } });
    net.elect('a');
    net.filter = (m) => !(m.type === 'appendResp' && m.from === 'b');
    const before = net.delivered.length;
    for (let i = 0; i < 10; i++) net.core('a').propose(enc(`p${i}`));
    net.stabilize();
    const sent = appends(net.delivered.slice(before), 'b').filter((m) => m.entries.length > 0);
    expect(sent).to.have.length(3);
    expect(net.core('a').status().progress!['b']).to.include({ state: 'replicate', inflightMsgs: 3 });
    net.filter = null;
    net.tick(3);
    expect(net.values('b')).to.have.length(10);
  });

  it('a probing follower gets one append at a time', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.tick(3);
    net.core('a').step({ type: 'appendResp', from: 'c', to: 'a', term: net.core('a').status().term, success: false, index: 2, rejectHint: 1, rejectHintTerm: 1 });
    expect(net.core('a').status().progress!['c']!.state).to.equal('probe');
    for (let i = 0; i < 5; i++) net.core('a').propose(enc(`p${i}`));
    net.processReadies();
    expect(appends(net.pending(), 'c').length).to.be.at.most(1);
  });

  it('batches entries up to maxMsgBytes, always sending at least one entry', () => {
    const net = new Network(['a', 'b', 'c'], { config: { maxMsgBytes: 100 } });
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 10; i++) net.propose('a', 'x'.repeat(40));
    net.propose('a', 'y'.repeat(500));
    const before = net.delivered.length;
    net.heal();
    net.tick(3);
    const toC = appends(net.delivered.slice(before), 'c').filter((m) => m.entries.length > 0);
    for (const m of toC) {
      const bytes = m.entries.reduce((n, e) => n + e.data.byteLength, 0);
      expect(bytes <= 100 || m.entries.length === 1, `append of ${bytes} bytes`).to.equal(true);
    }
    expect(toC.some((m) => m.entries.length === 1 && m.entries[0]!.data.byteLength === 500)).to.equal(true);
    expect(net.values('c')).to.have.length(11);
  });

  it('refuses proposals beyond maxUncommittedBytes with ERR_PROPOSAL_DROPPED until entries commit', () => {
    const net = new Network(['a', 'b', 'c'], { config: { maxUncommittedBytes: 100 } });
    net.elect('a');
    net.isolate('a');
    net.core('a').propose(enc('x'.repeat(60)));
    expect(() => net.core('a').propose(enc('y'.repeat(60))))
      .to.throw(RaftError)
      .with.property('code', 'ERR_PROPOSAL_DROPPED');
    net.core('a').propose(enc('z'.repeat(40))); // exactly at the limit
    net.heal();
    net.tick(2);
    net.core('a').propose(enc('w'.repeat(60)));
    net.stabilize();
    expect(net.values('b').map((v) => v[0])).to.deep.equal(['x', 'z', 'w']);
  });

  it('caps committedEntries per Ready at maxCommittedBytesPerReady (at least one entry)', () => {
    const net = new Network(['a'], { config: { maxCommittedBytesPerReady: 100 } });
    net.elect('a');
    for (let i = 0; i < 6; i++) net.core('a').propose(enc('x'.repeat(40)));
    net.stabilize();
    const sizes = net.readies.get('a')!.map((r) => r.committedEntries.reduce((n, e) => n + e.data.byteLength, 0));
    expect(Math.max(...sizes)).to.be.at.most(100);
    expect(net.values('a')).to.have.length(6);
  });
});

describe('Raft Ready contract (ready.ts)', () => {
  it('ready() twice without advance() is a misuse (TypeError)', () => {
    const c = mkCore('a', { voters: ['a'] });
    c.campaign();
    c.ready();
    expect(c.hasReady()).to.equal(false);
    expect(() => c.ready()).to.throw(TypeError);
  });

  it('emits hardState only when it changed and softState on role changes', () => {
    const c = mkCore('a', { voters: ['a'] });
    c.campaign();
    const r1 = c.ready();
    expect(r1.softState).to.deep.equal({ role: 'leader', leaderId: 'a', term: 1 });
    expect(r1.hardState).to.deep.equal({ term: 1, vote: 'a', commit: 0 });
    c.advance(r1);
    const r2 = c.ready();
    expect(r2.softState).to.equal(null);
    expect(r2.hardState).to.deep.equal({ term: 1, vote: 'a', commit: 1 });
    expect(r2.mustSync).to.equal(false); // commit only
    c.advance(r2);
    expect(c.hasReady()).to.equal(false);
  });

  it('followers apply committed entries only once persisted; the leader counts itself only once durable', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x'); // the harness throws if any Ready applies an unpersisted entry
    expect(dec(net.disks.get('b')!.entries.at(-1)!.data)).to.equal('x');
  });
});

describe('Raft log invariants (assertions)', () => {
  it('appending over a committed entry throws RaftInvariantError', () => {
    const log = new RaftLog(null, termsLog([1, 1, 1]), 2, 0);
    expect(() => log.append(entries([[2, 2]]))).to.throw(RaftInvariantError);
  });

  it('commit never decreases and never passes the last index', () => {
    const log = new RaftLog(null, termsLog([1, 1, 1]), 2, 0);
    expect(log.commitTo(1)).to.equal(false);
    expect(log.committed).to.equal(2);
    expect(() => log.commitTo(4)).to.throw(RaftInvariantError);
  });

  it('the term never decreases', () => {
    const c = mkCore('a', { term: 5 });
    c.step({ type: 'heartbeat', from: 'b', to: 'a', term: 4, commit: 0, readCtxSeq: 0 });
    expect(c.status().term).to.equal(5);
  });
});
