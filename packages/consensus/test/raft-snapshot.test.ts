import { expect } from 'chai';
import { RaftError } from '../src/errors.ts';
import type { SnapshotChunk, SnapshotResponse } from '../src/messages.ts';
import type { ConfState } from '../src/types.ts';
import { dec, drain, enc, Network } from './raft-harness.ts';

const CONF3: ConfState = { voters: ['a', 'b', 'c'], learners: [], votersOutgoing: [] };
const chunksTo = (net: Network, to: string, since: number): SnapshotChunk[] =>
  net.delivered.slice(since).filter((m): m is SnapshotChunk => m.type === 'snapshot' && m.to === to);

/** Snapshot of the test state machine: its values as JSON. */
function compactAt(net: Network, id: string, retainEntries = 0): number {
  const applied = net.sm.get(id)!.appliedIndex;
  net.core(id).compact(applied, enc(JSON.stringify(net.values(id))), retainEntries);
  return applied;
}

/** Leader a has 30 values; c missed all of them; a compacted its log. */
function laggingFollower(config = {}): Network {
  const net = new Network(['a', 'b', 'c'], { config: { snapshotChunkBytes: 16, ...config } });
  net.elect('a');
  net.isolate('c');
  for (let i = 0; i < 30; i++) net.propose('a', `value-${i}`);
  compactAt(net, 'a');
  return net;
}

describe('Raft §7 log compaction', () => {
  it('compact() drops entries up to the index, keeping retainEntries before it', () => {
    const net = new Network(['a']);
    net.elect('a');
    for (let i = 0; i < 10; i++) net.propose('a', `v${i}`);
    const idx = compactAt(net, 'a', 3);
    const st = net.core('a').status();
    expect(st.snapshotIndex).to.equal(idx);
    expect(st.lastIndex).to.equal(idx);
    net.propose('a', 'after');
    expect(net.values('a')).to.have.length(11);
  });

  it('compact() refuses an index at or below the snapshot (ERR_COMPACTED) or beyond applied (TypeError)', () => {
    const net = new Network(['a']);
    net.elect('a');
    net.propose('a', 'x');
    const idx = compactAt(net, 'a');
    expect(() => net.core('a').compact(idx, enc('[]'))).to.throw(RaftError).with.property('code', 'ERR_COMPACTED');
    expect(() => net.core('a').compact(idx + 5, enc('[]'))).to.throw(TypeError);
  });

  it('a follower whose next entry is compacted receives the snapshot in chunks of snapshotChunkBytes, installed once complete', () => {
    const net = laggingFollower();
    const since = net.delivered.length;
    net.heal();
    net.tick(5);
    const chunks = chunksTo(net, 'c', since);
    const total = chunks[0]!.totalBytes;
    expect(chunks.length).to.be.at.least(Math.ceil(total / 16));
    for (const ch of chunks) expect(ch.data.byteLength).to.be.at.most(16);
    expect(chunks.filter((ch) => ch.done)).to.have.length.at.least(1);
    const snaps = net.readies.get('c')!.filter((r) => r.snapshot !== null);
    expect(snaps).to.have.length(1); // emitted once, when complete
    expect(net.values('c')).to.deep.equal(net.values('a'));
    expect(net.core('a').status().progress!['c']).to.include({ state: 'replicate' });
    net.propose('a', 'after');
    expect(net.values('c').at(-1)).to.equal('after');
  });

  it('sends one chunk at a time: the next only after the previous was acknowledged', () => {
    const net = laggingFollower();
    net.heal();
    net.tick(1);
    let outstanding = 0;
    for (const m of net.delivered) {
      if (m.type === 'snapshot' && m.to === 'c') outstanding++;
      if (m.type === 'snapshotResp' && m.from === 'c') outstanding--;
      expect(outstanding).to.be.at.most(1);
    }
  });

  it('a lost chunk is resent from the acknowledged offset and duplicate chunks are harmless', () => {
    const net = laggingFollower();
    let n = 0;
    net.filter = (m) => {
      if (m.type !== 'snapshot') return true;
      n++;
      if (n === 3) return false; // lose the third chunk
      if (n === 5) net.core('c').step(m); // deliver the fifth twice
      return true;
    };
    net.heal();
    net.tick(12);
    expect(net.values('c')).to.deep.equal(net.values('a'));
    const resp = net.delivered.filter((m): m is SnapshotResponse => m.type === 'snapshotResp');
    expect(resp.every((r) => !r.reject)).to.equal(true);
  });

  it('a snapshot at or below the follower commit is acknowledged as installed without reinstalling', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'x');
    net.tick(1);
    const st = net.core('a').status();
    const b = net.core('b');
    drain(b);
    b.step({
      type: 'snapshot', from: 'a', to: 'b', term: st.term, offset: 0, data: enc('[]'), totalBytes: 2, done: true,
      metadata: { index: st.commit, term: st.term, confState: CONF3 },
    });
    const rd = b.ready();
    expect(rd.snapshot).to.equal(null);
    expect(rd.messages[0]).to.include({ type: 'snapshotResp', nextOffset: 2, reject: false });
    b.advance(rd);
  });

  it('a follower within retainEntries of the snapshot catches up from the log, not by snapshot', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
    compactAt(net, 'a', 10);
    const since = net.delivered.length;
    net.heal();
    net.tick(3);
    expect(chunksTo(net, 'c', since)).to.have.length(0);
    expect(net.values('c')).to.have.length(5);
  });

  it('a node restarts from its snapshot and the entries after it', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
    net.tick(1);
    const idx = compactAt(net, 'b');
    net.disks.get('b')!.snapshot = { metadata: { index: idx, term: net.core('b').status().term, confState: CONF3 }, data: enc(JSON.stringify(net.values('b'))) };
    net.disks.get('b')!.entries = net.disks.get('b')!.entries.filter((e) => e.index > idx);
    net.propose('a', 'v5');
    const core = net.restart('b');
    expect(core.status()).to.include({ snapshotIndex: idx, applied: idx });
    expect(core.status().confState).to.deep.equal(CONF3);
    net.tick(2);
    expect(net.values('b')).to.deep.equal(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    expect(dec(net.disks.get('b')!.snapshot!.data)).to.contain('v4');
  });
});
