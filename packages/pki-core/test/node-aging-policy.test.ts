// Aging out dead nodes (docs/architecture.md §20): the pure decision (node/aging/aging-policy.ts),
// the replicated mark (state/apply-cluster.ts applyNodeActivityMarked) and the map status.
import { expect } from 'chai';
import { agingDecision, checkAgingLimits, quorumOf, silenceOf, type AgingLimits, type AgingMember } from '../src/node/aging/aging-policy.ts';
import { findNode, newClusterMap, withAz, withLeaders, withNode, withNodeActivity, withNodeRevoked } from '../src/cluster/cluster-map.ts';
import { clusterMapFromJson } from '../src/cluster/cluster-map-codec.ts';
import type { PkiEvent } from '../src/state/index.ts';
import { applyAll, baseLog, NODE1, openStore, removeTempDirs, T0 } from './state-fixtures.ts';
import { expectPkiCode } from './expect-code.ts';

const S = 1000;
const LIMITS: AgingLimits = { inactiveAfterMs: 60 * S, removeAfterMs: 300 * S, liveWithinMs: 30 * S };

const voter = (nodeId: string, silentMs: number, inactive = false): AgingMember => ({ nodeId, membership: 'voter', silentMs, inactive });
const learner = (nodeId: string, silentMs: number, inactive = false): AgingMember => ({ nodeId, membership: 'learner', silentMs, inactive });

describe('node aging: who is marked inactive, active again, or removed (aging-policy.ts agingDecision)', () => {
  it('marks a node inactive once silent for inactiveAfterMs, not a moment before', () => {
    const d = agingDecision({ members: [voter('b', 60 * S - 1), voter('c', 60 * S)], changePending: false }, LIMITS);
    expect(d.marks).to.deep.equal([{ nodeId: 'c', activity: 'inactive' }]);
    expect(d.remove).to.equal(null);
  });

  it('a node already marked inactive is not marked again; heard from within liveWithinMs it is marked active', () => {
    const d = agingDecision({ members: [voter('b', 120 * S, true), voter('c', 5 * S, true), voter('d', 40 * S, true)], changePending: false }, LIMITS);
    // d was heard 40 s ago, outside the 30 s live window: it stays inactive until heard within it.
    expect(d.marks).to.deep.equal([{ nodeId: 'c', activity: 'active' }]);
  });

  it('3 voters, 1 dead past removeAfterMs: the dead voter is removed (2 live voters are a quorum of 3 and of 2)', () => {
    const d = agingDecision({ members: [voter('b', 1 * S), voter('c', 300 * S, true)], changePending: false }, LIMITS);
    expect(d.remove).to.equal('c');
    expect(d.marks).to.deep.equal([]);
  });

  it('3 voters, 2 dead: no one is removed (1 live voter is no majority of 3 or of 2)', () => {
    const d = agingDecision({ members: [voter('b', 400 * S, true), voter('c', 500 * S, true)], changePending: false }, LIMITS);
    expect(d.remove).to.equal(null);
  });

  it('2 voters, 1 dead: no one is removed (a quorum of 2 needs both)', () => {
    expect(agingDecision({ members: [voter('b', 400 * S, true)], changePending: false }, LIMITS).remove).to.equal(null);
  });

  it('5 voters, 2 dead: one at a time, the longest silent first; the second once the first is out', () => {
    const five = [voter('b', 1 * S), voter('c', 2 * S), voter('d', 400 * S, true), voter('e', 500 * S, true)];
    expect(agingDecision({ members: five, changePending: false }, LIMITS).remove).to.equal('e');
    expect(agingDecision({ members: five, changePending: true }, LIMITS).remove, 'not while a change is pending').to.equal(null);
    // e is out: 4 voters, 3 live — a quorum of 4 and of 3.
    expect(agingDecision({ members: five.filter((m) => m.nodeId !== 'e'), changePending: false }, LIMITS).remove).to.equal('d');
  });

  it('a dead learner or a registered node outside the group goes before a dead voter, whatever the quorum', () => {
    const members = [voter('b', 600 * S, true), learner('c', 400 * S, true), { nodeId: 'd', membership: 'none' as const, silentMs: 350 * S, inactive: true }];
    // Two voters, one dead: the voter may not go, the learner and the outsider may.
    expect(agingDecision({ members, changePending: false }, LIMITS).remove).to.equal('c');
    expect(agingDecision({ members: members.filter((m) => m.nodeId !== 'c'), changePending: false }, LIMITS).remove).to.equal('d');
    expect(agingDecision({ members: members.filter((m) => m.membership === 'voter'), changePending: false }, LIMITS).remove).to.equal(null);
  });

  it('ties in silence break by node id, so every replay decides alike', () => {
    const members = [voter('a', 1 * S), voter('b', 1 * S), voter('z', 400 * S, true), voter('y', 400 * S, true)];
    expect(agingDecision({ members, changePending: false }, LIMITS).remove).to.equal('y');
  });

  it('Raft §5.2 majorities', () => {
    expect([1, 2, 3, 4, 5].map(quorumOf)).to.deep.equal([1, 2, 2, 3, 3]);
  });

  it('limits must be ordered: 0 < liveWithin < inactiveAfter < removeAfter', () => {
    expect(() => checkAgingLimits({ ...LIMITS, removeAfterMs: LIMITS.inactiveAfterMs })).to.throw(TypeError, /liveWithinMs < inactiveAfterMs < removeAfterMs/);
    expect(() => checkAgingLimits({ ...LIMITS, liveWithinMs: 0 })).to.throw(TypeError);
    expect(() => checkAgingLimits({ ...LIMITS, inactiveAfterMs: 1.5 })).to.throw(TypeError);
  });
});

describe('node aging: the silence counted (aging-policy.ts silenceOf)', () => {
  const now = T0 + 1_000 * S;

  it("the leader's own observation, when the state records the node active", () => {
    expect(silenceOf({ ownSilentMs: 70 * S, inactiveSince: null, nowMs: now }, LIMITS)).to.equal(70 * S);
  });

  it("a new leader credits an earlier leader's inactiveSince only after it saw inactiveAfterMs of silence itself", () => {
    const inactiveSince = now - 900 * S;
    expect(silenceOf({ ownSilentMs: 10 * S, inactiveSince, nowMs: now }, LIMITS), 'too early: its own 10 s').to.equal(10 * S);
    expect(silenceOf({ ownSilentMs: 60 * S, inactiveSince, nowMs: now }, LIMITS)).to.equal(900 * S);
  });

  it('a wall clock behind the record never shortens the observed silence', () => {
    expect(silenceOf({ ownSilentMs: 80 * S, inactiveSince: now + 50 * S, nowMs: now }, LIMITS)).to.equal(80 * S);
  });
});

describe('node aging: the replicated mark (NodeActivityMarked) and the map status', () => {
  after(removeTempDirs);

  const mark = (activity: 'active' | 'inactive', lastSeenAt: number, at: number): PkiEvent => ({ type: 'NodeActivityMarked', nodeId: NODE1, activity, lastSeenAt, at });

  it('inactive records when the node was last seen; active again clears it; a repeated mark changes nothing', async () => {
    const store = await openStore();
    try {
      await applyAll(store, baseLog());
      const v0 = await store.mapVersion();
      await applyAll(store, [mark('inactive', T0 + 10, T0 + 100)]);
      expect((await store.getNode(NODE1))?.inactiveSince).to.equal(T0 + 10);
      expect(await store.mapVersion()).to.equal(v0 + 1);
      await applyAll(store, [mark('inactive', T0 + 50, T0 + 200)]);
      expect((await store.getNode(NODE1))?.inactiveSince, 'the first mark stands').to.equal(T0 + 10);
      expect(await store.mapVersion(), 'no map change').to.equal(v0 + 1);
      await applyAll(store, [mark('active', T0 + 300, T0 + 300)]);
      const back = await store.getNode(NODE1);
      expect(back).to.not.have.property('inactiveSince');
      expect(await store.mapVersion()).to.equal(v0 + 2);
    } finally {
      await store.close();
    }
  });

  it('an unregistered node is refused with ERR_NODE_UNKNOWN and nothing changes', async () => {
    const store = await openStore();
    try {
      await applyAll(store, baseLog());
      const v0 = await store.mapVersion();
      const [outcome] = await store.applyEvents([{ event: { type: 'NodeActivityMarked', nodeId: 'nobody', activity: 'inactive', lastSeenAt: T0, at: T0 + 1 }, meta: { index: store.appliedIndex() + 1, term: 1 } }]);
      expect(outcome).to.deep.include({ ok: false });
      expect(outcome && !outcome.ok && outcome.error.code).to.equal('ERR_NODE_UNKNOWN');
      expect(await store.mapVersion()).to.equal(v0);
    } finally {
      await store.close();
    }
  });

  it('the map lists an inactive node as inactive, it may still lead, it round-trips the codec; revoked stays final', () => {
    let m = newClusterMap('7d3c2f4e-0b1a-4c55-9a51-3f0e2b8d6c11', '10.0.0.1');
    m = withAz(m, { name: 'az-a', subnets: ['10.1.1.0/24'], localVip: '10.1.1.10' });
    m = withNode(m, { nodeId: 'a1', az: 'az-a', addresses: { api: '10.1.1.11:8443', raft: '10.1.1.11:7000' } });
    const inactive = withNodeActivity(m, 'a1', 'inactive');
    expect(findNode(inactive, 'a1')?.status).to.equal('inactive');
    expect(inactive.generation).to.equal(m.generation + 1);
    const led = withLeaders(inactive, { globalLeader: 'a1', localLeaders: { 'az-a': 'a1' } });
    expect(clusterMapFromJson(JSON.parse(JSON.stringify(led)))).to.deep.equal(led);
    expect(findNode(withNodeActivity(inactive, 'a1', 'active'), 'a1')?.status).to.equal('active');
    expectPkiCode(() => withNodeActivity(withNodeRevoked(inactive, 'a1'), 'a1', 'active'), 'ERR_NODE_REVOKED');
  });
});
