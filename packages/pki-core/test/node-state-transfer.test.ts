// Raft snapshots of a state on disk only name the state (`{ v: 2, seq }`, consensus
// two-tier/two-tier-node.ts); a node behind one fetches the state from a peer of its AZ in chunks
// read from one LevelDB iterator (two-tier/state-transfer.ts, state/snapshot-chunks.ts). Real
// LevelDB state directories; the state frames travel over the harness's memory network.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { decodeValue } from '@adrestia/consensus';
import { azSpec, CLUSTER_ID, eventually, issueVia, PkiTestCluster } from './node-cluster-harness.ts';
import { hexDump } from './state-fixtures.ts';
import type { PkiNode } from '../src/index.ts';

const SNAPSHOT_EVERY = 16;

/** The node's last local snapshot, decoded (MemoryStorage keeps it in the harness). */
async function localSnapshot(c: PkiTestCluster, nodeId: string) {
  const stored = (await c.storages.get(nodeId)!.load()).snapshot;
  if (stored === null) return null;
  return { index: stored.metadata.index, bytes: stored.data.byteLength, body: decodeValue(stored.data) as Record<string, unknown> };
}

async function sameState(a: PkiNode, b: PkiNode): Promise<boolean> {
  const [mine, theirs] = await Promise.all([hexDump(a.app.store), hexDump(b.app.store)]);
  return a.app.appliedSeq() === b.app.appliedSeq() && JSON.stringify(mine) === JSON.stringify(theirs);
}

describe('state transfer: descriptor snapshots, the state fetched from a peer in chunks', function () {
  this.timeout(120_000);
  let c: PkiTestCluster;
  before(() => (c = new PkiTestCluster({ snapshotEveryEntries: SNAPSHOT_EVERY }, { stateOnDisk: true, streamed: true })));
  after(() => c.stop());

  it('local snapshots name the state instead of holding it; a follower restarted behind the compacted log fetches it and ends byte for byte where its peers are', async () => {
    await c.start('a1', 'az1', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1) });
    for (const id of ['a2', 'a3']) await c.start(id, 'az1', { mode: 'join', localLeaderId: 'a1' });
    await eventually('every node ready', () => c.live().every((n) => n.status().ready));
    const a3Applied = c.nodes.get('a3')!.status().local.appliedIndex;
    await c.crash('a3');
    const framesBefore = new Map(c.stateNet.framesFrom);
    const a1 = c.nodes.get('a1')!;
    const leaves = [];
    for (let i = 0; i < 3 * SNAPSHOT_EVERY; i++) leaves.push(await issueVia(a1, c, `transfer-${i}`));
    // The log a3 stopped in is gone from a1: only a snapshot can bring a3 up to date.
    const snap = await eventually('a1 compacted past a3', async () => {
      const s = await localSnapshot(c, 'a1');
      return s !== null && s.index > a3Applied + 1 ? s : null;
    });
    expect(snap.body['v']).to.equal(2);
    expect(snap.body).to.not.have.property('app');
    // A descriptor: beside the seat's own state (the global log, never compacted yet) a few bytes.
    expect(snap.bytes - (snap.body['seat'] as Uint8Array).byteLength, 'a descriptor, whatever the state holds').to.be.below(128);
    expect(snap.body['seq']).to.be.a('number').and.to.be.at.most(a1.app.appliedSeq());

    const a3 = await c.start('a3', 'az1', { mode: 'restart' });
    const last = leaves.at(-1)!;
    await eventually('a3 holds the last leaf', async () => (await a3.app.store.getCertificate(last.issuerId, last.serialHex)) !== undefined, 60_000);
    const served = ['a1', 'a2'].map((id) => (c.stateNet.framesFrom.get(id) ?? 0) - (framesBefore.get(id) ?? 0));
    expect(served.some((n) => n > 0), `a peer sent state frames (${served.join(', ')})`).to.equal(true);
    await eventually('a3 holds the same bytes as a1', () => sameState(a3, a1), 30_000);
  });

  it('a node joining after compaction gets the state by transfer, and issues once promoted', async () => {
    const a1 = c.nodes.get('a1')!;
    expect((await localSnapshot(c, 'a1'))?.index, 'a1 compacted its log').to.be.greaterThan(0);
    const framesBefore = new Map(c.stateNet.framesFrom);
    const a4 = await c.start('a4', 'az1', { mode: 'join', localLeaderId: 'a1' });
    await eventually('a4 ready', () => a4.status().ready, 60_000);
    await eventually('a4 holds the same bytes as a1', () => sameState(a4, a1), 30_000);
    expect((c.stateNet.framesFrom.get('a4') ?? 0) - (framesBefore.get('a4') ?? 0), 'a4 asked a peer for the state').to.be.greaterThan(0);
    const next = await issueVia(a1, c, 'after-join');
    await eventually('a4 applies what follows', async () => (await a4.app.store.getCertificate(next.issuerId, next.serialHex)) !== undefined);
  });

  it('a node whose state directory was lost refuses to start (ERR_STATE_LOST) rather than serve without its state', async () => {
    await c.crash('a4');
    rmSync(join(c.nodeDir('a4'), 'state'), { recursive: true, force: true });
    let refused: unknown = null;
    try {
      await c.start('a4', 'az1', { mode: 'restart' });
    } catch (e) {
      refused = e;
    }
    expect(refused, 'the restart is refused').to.be.instanceOf(Error);
    expect((refused as { code?: string }).code).to.equal('ERR_STATE_LOST');
    expect(String(refused)).to.match(/behind the local snapshot/);
  });
});
