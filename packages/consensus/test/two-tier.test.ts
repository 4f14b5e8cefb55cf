import { expect } from 'chai';
import { TwoTierHarness, retry, text, waitUntil, type HarnessNode } from './two-tier-harness.ts';

const EMPTY = { voters: [], learners: [], votersOutgoing: [] };

/** Founds AZ `az` with node `${az}1` as its only voter; the first AZ also founds the global group. */
async function foundAz(h: TwoTierHarness, az: string, first: boolean): Promise<HarnessNode> {
  const n = await h.startNode(`${az}1`, az, {
    local: { voters: [`${az}1`], learners: [], votersOutgoing: [] },
    global: first ? { voters: [az], learners: [], votersOutgoing: [] } : EMPTY,
  });
  n.node.campaignLocal();
  await waitUntil(`${az}1 local leader`, () => n.node.status().seat !== null);
  if (first) {
    n.node.campaignGlobal();
    await waitUntil('first global leader', () => n.node.isGlobalLeader());
  }
  return n;
}

/** Adds nodes 2..size to an AZ: learner first, promoted once it has caught up (thesis §4.2.1). */
async function growAz(h: TwoTierHarness, az: string, size: number): Promise<void> {
  for (let i = 2; i <= size; i++) {
    const id = `${az}${i}`;
    await h.startNode(id, az, { local: EMPTY, global: EMPTY });
    const leader = await waitUntil(`${az} local leader`, () => h.localLeaderOf(az));
    await retry(`add learner ${id}`, () => leader.node.changeLocalMembership({ changes: [{ op: 'addLearner', nodeId: id }] }));
    await retry(`promote ${id}`, () => h.localLeaderOf(az)!.node.changeLocalMembership({ changes: [{ op: 'addVoter', nodeId: id }] }));
  }
}

/** The global leader adds AZ `az`'s seat as a learner, then as a voter. */
async function joinSeat(h: TwoTierHarness, az: string): Promise<void> {
  for (const op of ['addLearner', 'addVoter'] as const) {
    await retry(`${op} seat ${az}`, async () => {
      const g = h.globalLeader();
      if (!g) throw new Error('no global leader');
      g.node.changeGlobalMembership({ changes: [{ op, nodeId: az }] });
      await waitUntil(`seat ${az} ${op}`, () => {
        const s = h.globalLeader()?.node.status().seat;
        return s && (op === 'addVoter' ? s.confState.voters : s.confState.learners).includes(az);
      }, 3000);
    });
  }
}

async function buildCluster(h: TwoTierHarness, azs: string[], size: number): Promise<void> {
  await foundAz(h, azs[0]!, true);
  for (const az of azs.slice(1)) {
    await foundAz(h, az, false);
    await joinSeat(h, az);
  }
  for (const az of azs) await growAz(h, az, size);
}

async function proposeGlobalFrom(h: TwoTierHarness, az: string, value: string): Promise<number> {
  return retry(`global ${value} from ${az}`, async () => {
    const l = h.localLeaderOf(az);
    if (!l) throw new Error(`no local leader in ${az}`);
    return l.node.proposeGlobal(text(value));
  });
}

describe('two tiers: seats persisted through local logs', function () {
  this.timeout(60_000);
  let h: TwoTierHarness;
  beforeEach(() => (h = new TwoTierHarness()));
  afterEach(() => h.stopAll());

  it('a global command from any AZ is applied, in one order, by every node of every AZ', async () => {
    await buildCluster(h, ['a', 'b', 'c'], 3);
    await proposeGlobalFrom(h, 'b', 'g1');
    await proposeGlobalFrom(h, 'c', 'g2');
    await proposeGlobalFrom(h, 'a', 'g3');
    await waitUntil('all nodes applied g1..g3', () => h.alive().every((n) => n.app.globals().length === 3));
    const orders = new Set(h.alive().map((n) => n.app.globals().join(',')));
    expect([...orders]).to.have.length(1);
    expect([...orders][0]!.split(',').sort()).to.deep.equal(['g1', 'g2', 'g3']);
  });

  it('two nodes founding one AZ at once: a held seat never acts for the AZ; only the released founder joins the global group', async () => {
    await foundAz(h, 'az1', true);
    const [a, b] = await Promise.all(
      ['az2a', 'az2b'].map((id) => h.startNode(id, 'az2', { local: { voters: [id], learners: [], votersOutgoing: [] }, global: EMPTY, seatHeld: true })),
    );
    for (const n of [a!, b!]) n.node.campaignLocal();
    await waitUntil('both lead a local group of their own', () => a!.node.isLocalLeader() && b!.node.isLocalLeader());
    await proposeGlobalFrom(h, 'az1', 'before-release');
    expect(a!.node.status().seat, 'held: no seat').to.equal(null);
    a!.node.releaseSeat(); // the global leader accepted az2a as the founder
    await joinSeat(h, 'az2');
    await waitUntil('az2a acts for the seat', () => a!.node.status().seat !== null);
    await proposeGlobalFrom(h, 'az2', 'from-az2');
    await waitUntil('az2a applied the global log', () => a!.app.globals().includes('before-release') && a!.app.globals().includes('from-az2'));
    expect(b!.node.isSeatHeld()).to.equal(true);
    expect(b!.node.status().seat, 'the refused founder never acted for the seat').to.equal(null);
    expect(b!.app.globals(), 'nor received the global log').to.deep.equal([]);
  });

  it('local commands stay in their AZ', async () => {
    await buildCluster(h, ['a', 'b'], 2);
    await retry('local in a', () => h.localLeaderOf('a')!.node.proposeLocal(text('only-a')));
    await waitUntil('a2 applied', () => h.nodes.get('a2')!.app.items.some((i) => i.text === 'only-a'));
    for (const n of h.alive().filter((n) => n.az === 'b')) expect(n.app.items.map((i) => i.text)).not.to.include('only-a');
  });

  it('an AZ keeps its seat when its local leader crashes: a new local leader rebuilds the seat and carries on', async () => {
    await buildCluster(h, ['a', 'b', 'c'], 3);
    await proposeGlobalFrom(h, 'a', 'before');
    const g = await waitUntil('global leader', () => h.globalLeader());
    await h.crash(g.id);
    const next = await waitUntil(`new local leader in ${g.az}`, () => h.localLeaderOf(g.az), 15_000);
    expect(next.id).not.to.equal(g.id);
    await proposeGlobalFrom(h, g.az, 'after');
    await waitUntil('every live node applied both', () =>
      h.alive().every((n) => ['before', 'after'].every((v) => n.app.globals().includes(v))),
    );
  });

  it('a partitioned AZ cannot commit globally, keeps committing locally, and catches up after the heal', async () => {
    await buildCluster(h, ['a', 'b', 'c'], 3);
    h.seatNet.partitionAzs(['c'], ['a', 'b']);
    const c = await waitUntil('c local leader', () => h.localLeaderOf('c'));
    await c.node.proposeLocal(text('local-during-partition'));
    const err = await c.node.proposeGlobal(text('from-c')).then(
      () => null,
      (e: Error) => e,
    );
    expect(err, 'a global command cannot commit without the majority side').to.be.instanceOf(Error);
    await proposeGlobalFrom(h, 'a', 'majority-side');
    h.seatNet.heal();
    await proposeGlobalFrom(h, 'c', 'after-heal');
    await waitUntil('c applied the majority side and its own', () =>
      h.alive().every((n) => ['majority-side', 'after-heal'].every((v) => n.app.globals().includes(v))),
    );
  });

  it('a restarted AZ node rebuilds both tiers from its storage', async () => {
    await buildCluster(h, ['a', 'b'], 3);
    await proposeGlobalFrom(h, 'b', 'x');
    await waitUntil('b2 applied x', () => h.nodes.get('b2')!.app.globals().includes('x'));
    await h.crash('b2');
    const b2 = await h.restart('b2');
    await waitUntil('b2 reapplied x', () => b2.app.globals().includes('x'));
    await proposeGlobalFrom(h, 'a', 'y');
    await waitUntil('b2 applied y', () => b2.app.globals().includes('y'));
  });
});
