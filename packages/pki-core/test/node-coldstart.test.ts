import { expect } from 'chai';
import { PkiTestCluster, eventually } from './node-cluster-harness.ts';

describe('docs/spec.md §3.7 start-up: a cold start of every node at the same moment makes ONE cluster', function () {
  this.timeout(120_000);
  let c: PkiTestCluster;
  before(() => (c = new PkiTestCluster()));
  after(() => c.stop());

  it('3 AZs × 2 nodes bootstrap at once through discovery: one cluster id, one root, every AZ founded once, everyone registered', async () => {
    const plan: [string, number, boolean][] = [
      ['n1a', 1, true], ['n1b', 1, false],
      ['n2a', 2, false], ['n2b', 2, false],
      ['n3a', 3, false], ['n3b', 3, false],
    ];
    const nodes = await Promise.all(plan.map(([id, az, founder]) => c.bootstrap(id, az, founder)));
    await eventually('every node ready', () => nodes.every((n) => n.status().ready), 60_000);
    const clusterIds = new Set<string>();
    const roots = new Set<string>();
    for (const n of nodes) {
      const cluster = (await n.app.store.cluster())!;
      clusterIds.add(cluster.clusterId);
      roots.add(cluster.rootIssuerId);
      expect((await n.app.store.azs()).map((a) => a.name).sort()).to.deep.equal(['az1', 'az2', 'az3']);
    }
    expect(clusterIds.size, 'cluster ids').to.equal(1);
    expect(roots.size, 'roots').to.equal(1);
    const any = nodes[0]!;
    await eventually('all six registered', async () => (await any.app.store.nodes()).length === 6);
    // Each AZ has exactly one local group: both nodes of an AZ share a local leader.
    for (const az of ['az1', 'az2', 'az3']) {
      const members = nodes.filter((n) => n.az === az);
      await eventually(`${az} agrees on one local leader`, () => {
        const leaders = new Set(members.map((m) => m.status().local.leaderId));
        return leaders.size === 1 && !leaders.has(null);
      });
    }
    const seat = c.globalLeader()!.consensus.status().seat!;
    expect(seat.confState.voters.concat(seat.confState.learners).sort()).to.deep.equal(['az1', 'az2', 'az3']);
    expect(c.vips.violations).to.deep.equal([]);
  });
});
