// docs/spec.md §7.2: one cluster-map generation for one content, on every node of every AZ,
// across restarts and failovers; `clusterMap?since=` answers "no change" only for the same content.
import { expect } from 'chai';
import type { ClusterMap } from '../src/cluster/cluster-map.ts';
import type { PkiNode } from '../src/node/pki-node.ts';
import { PkiTestCluster, azSpec, buildTwoAzCluster, eventually } from './node-cluster-harness.ts';

interface Served {
  nodeId: string;
  map: ClusterMap;
  etag: string;
}

const contentOf = (m: ClusterMap): Omit<ClusterMap, 'generation'> => {
  const { generation: _generation, ...content } = m;
  return content;
};

async function servedBy(n: PkiNode): Promise<Served> {
  const d = await n.clusterMap(0);
  if (d.unchanged) throw new Error(`${n.nodeId} answered "no change" to since=0`);
  return { nodeId: n.nodeId, map: d.map, etag: d.etag };
}

/**
 * The generation rule over every pair of live nodes: equal generations carry equal content, equal
 * content carries equal generations and ETags, and a poller holding X's generation or ETag gets
 * "no change" from Y exactly when Y's content is X's (the ETag) or only then (the number).
 */
async function checkEveryPair(c: PkiTestCluster, step: string): Promise<number> {
  const served = await Promise.all(c.live().map(servedBy));
  let sharedNodePairs = 0;
  for (const x of served) {
    for (const y of served) {
      const sameContent = JSON.stringify(contentOf(x.map)) === JSON.stringify(contentOf(y.map));
      const where = `${step}: ${x.nodeId} (generation ${x.map.generation}) vs ${y.nodeId} (generation ${y.map.generation})`;
      if (x.map.generation === y.map.generation) expect(contentOf(y.map), where).to.deep.equal(contentOf(x.map));
      if (sameContent) expect([y.map.generation, y.etag], where).to.deep.equal([x.map.generation, x.etag]);
      if (sameContent && x.nodeId !== y.nodeId) sharedNodePairs++;
      const node = c.nodes.get(y.nodeId)!;
      const byNumber = await node.clusterMap(x.map.generation);
      const byEtag = await node.clusterMap(x.etag);
      // Y may have moved on since `served` was read: compare with what it answers now.
      const now = await servedBy(node);
      const sameNow = JSON.stringify(contentOf(x.map)) === JSON.stringify(contentOf(now.map));
      if (byNumber.unchanged) expect(sameNow, `${where}: "no change" to since=${x.map.generation}`).to.equal(true);
      if (byEtag.unchanged) expect(sameNow, `${where}: "no change" to since=${x.etag}`).to.equal(true);
    }
  }
  return sharedNodePairs;
}

/** Waits until every live node has applied the same replicated part of the map. */
async function settled(c: PkiTestCluster, what: string, test: (m: ClusterMap) => boolean): Promise<void> {
  for (const n of c.live()) await eventually(`${what} on ${n.nodeId}`, async () => test((await servedBy(n)).map));
}

describe('docs/spec.md §7.2 cluster-map generations agree across nodes (two AZs in one process)', function () {
  this.timeout(180_000);
  let c: PkiTestCluster;
  before(async () => {
    c = new PkiTestCluster();
    await buildTwoAzCluster(c);
  });
  after(() => c.stop());

  it('after two `az add`, a generation held from one node is not "no change" on another node with other content', async () => {
    const x = c.nodes.get('a1')!;
    const y = c.nodes.get('b2')!;
    const before = await servedBy(x);
    await x.addAz(azSpec(3), 'test');
    await x.addAz(azSpec(4), 'test');
    await settled(c, 'az3 and az4 declared', (m) => m.azs.length === 4);
    const diff = await y.clusterMap(before.map.generation);
    expect(diff.unchanged, 'a poller holding the map before the two AZs were added').to.equal(false);
    const after = await servedBy(y);
    expect(after.map.azs.map((a) => a.name)).to.deep.equal(['az1', 'az2', 'az3', 'az4']);
    expect(after.map.generation).to.not.equal(before.map.generation);
    await checkEveryPair(c, 'two az add');
  });

  it('equal generation ⇔ equal content across AZ changes, node registration and removal, leader failover and restarts', async () => {
    let shared = await checkEveryPair(c, 'start');
    // An AZ founded, with a node of its own: registration changes every node's map.
    await c.start('c1', 'az3', { mode: 'foundAz', azSpec: azSpec(3), globalLeaderId: 'a1' });
    await settled(c, 'c1 registered', (m) => m.nodes.some((n) => n.nodeId === 'c1'));
    shared += await checkEveryPair(c, 'az3 founded');
    await c.start('c2', 'az3', { mode: 'join', localLeaderId: 'c1' });
    await settled(c, 'c2 registered', (m) => m.nodes.some((n) => n.nodeId === 'c2'));
    shared += await checkEveryPair(c, 'c2 joined');

    // A node removed: it stays listed as revoked.
    await c.nodes.get('a1')!.removeNode('b2', 'test');
    await settled(c, 'b2 revoked', (m) => m.nodes.some((n) => n.nodeId === 'b2' && n.status === 'revoked'));
    await c.crash('b2');
    shared += await checkEveryPair(c, 'b2 removed');

    // A local leader crashes: the leaders change, and the generations with them.
    const leader = c.localLeader('az1')!;
    const beforeFailover = await servedBy(c.nodes.get('a2') === leader ? c.nodes.get('a3')! : c.nodes.get('a2')!);
    await c.crash(leader.nodeId);
    const successor = await eventually('a new az1 local leader', () => c.localLeader('az1'));
    await eventually('the map names the new local leader', async () => (await servedBy(successor)).map.leaders.localLeaders['az1'] === successor.nodeId);
    const afterFailover = await servedBy(c.nodes.get(beforeFailover.nodeId)!);
    if (JSON.stringify(contentOf(afterFailover.map)) !== JSON.stringify(contentOf(beforeFailover.map))) {
      expect(afterFailover.map.generation, 'the leader change moved the generation').to.not.equal(beforeFailover.map.generation);
      expect((await c.nodes.get(beforeFailover.nodeId)!.clusterMap(beforeFailover.map.generation)).unchanged).to.equal(false);
    }
    shared += await checkEveryPair(c, 'az1 local leader crashed');

    // The crashed leader restarts from its storage: same content, same generation as its peers.
    await c.start(leader.nodeId, 'az1', { mode: 'restart' });
    await eventually(`${leader.nodeId} ready again`, () => c.nodes.get(leader.nodeId)!.status().ready);
    const peer = c.live().find((n) => n.az === 'az1' && n.nodeId !== leader.nodeId && !n.status().pkiLocalLeader)!;
    const match = await eventually(`${leader.nodeId} serves ${peer.nodeId}'s content`, async () => {
      const [mine, theirs] = await Promise.all([servedBy(c.nodes.get(leader.nodeId)!), servedBy(peer)]);
      return JSON.stringify(contentOf(mine.map)) === JSON.stringify(contentOf(theirs.map)) ? { mine, theirs } : null;
    });
    expect([match.mine.map.generation, match.mine.etag]).to.deep.equal([match.theirs.map.generation, match.theirs.etag]);
    expect((await c.nodes.get(leader.nodeId)!.clusterMap(match.theirs.map.generation)).unchanged, 'the restarted node knows the generation its peer served').to.equal(true);
    shared += await checkEveryPair(c, 'restarted');
    expect(shared, 'some nodes served the same content, so the cross-node "no change" case was exercised').to.be.greaterThan(0);
  });
});
