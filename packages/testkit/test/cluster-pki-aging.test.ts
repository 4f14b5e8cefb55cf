// Aging out dead nodes (pki-core node/aging/, docs/architecture.md §20) on the simulated cluster
// (3 AZs × 3 PkiNodes, virtual time), with short limits: inactive after 60 s, removed after 300 s.
// One node is killed for good: its map status goes `inactive`, then it is removed from its local
// group (2 voters that still commit), its node ICA and TLS certificate are revoked, the mesh pins
// and its registration refuse it, its AZ's seat is acted by a live node, and issuance and
// revocation go on. Another node, in another AZ, comes back before removal and is active again.
import { expect } from 'chai';
import { isPkiError, readCertificateFields, type ClusterMap } from '@adrestia/pki-core';
import { PkiLedger, PkiSimCluster, issueVia, revokeVia, runUntilSettled, serialReuse, type PkiIssued, type PkiSimNode } from '../src/cluster/index.ts';

const MS = 1000;
const S = 1000 * MS;
const INACTIVE_AFTER_S = 60;
const REMOVE_AFTER_S = 300;
const BOUND_US = 20 * S;

async function mapOf(n: PkiSimNode): Promise<ClusterMap> {
  const diff = await n.node!.clusterMap(0);
  if (diff.unchanged) throw new Error('clusterMap(0) answered unchanged');
  return diff.map;
}

async function statusIn(n: PkiSimNode, nodeId: string): Promise<string | undefined> {
  return (await mapOf(n)).nodes.find((x) => x.nodeId === nodeId)?.status;
}

describe('node aging on the simulated cluster (3 AZs × 3 PkiNodes, virtual time)', function () {
  this.timeout(600_000);
  let cluster: PkiSimCluster | null = null;

  afterEach(async () => {
    await cluster?.stopAll();
    cluster = null;
  });

  it('a node killed for good goes inactive, then is removed and revoked; a node back before removal is active again', async () => {
    const c = (cluster = new PkiSimCluster({
      seed: 41,
      aging: { nodeInactiveAfterSeconds: INACTIVE_AFTER_S, nodeRemoveAfterSeconds: REMOVE_AFTER_S },
      // Formation, remove-after and the checks after it: past the default 150 virtual s.
      budget: { eventsMax: 6_000_000, virtualUsMax: (REMOVE_AFTER_S + 240) * S },
    }));
    const s = c.scheduler;
    expect(await c.form(60 * S), 'the cluster forms').to.equal(true);
    const ledger = new PkiLedger();
    const global = c.globalLeader()!;
    const [deadAz, backAz] = c.azs.map((a) => a.name).filter((n) => n !== global.az);
    // The victim is its AZ's local leader, so it also holds the AZ's seat on the global tier.
    const victim = c.localLeaderOf(deadAz!)!;
    const returner = c.nodesOf(backAz!).find((n) => n.alive && !n.node!.status().pkiLocalLeader)!;
    const observer = global;
    const victimRecord = (await observer.node!.app.store.getNode(victim.id))!;
    const victimIca = (await observer.node!.app.store.getCa(victimRecord.icaIssuerId))!;
    const tlsSerial = readCertificateFields(victimRecord.tlsCertDer).serialHex;

    const killedAt = s.nowUs;
    await c.crash(victim.id);
    await c.crash(returner.id);

    const waitFor = async (what: string, boundUs: number, condition: () => Promise<boolean>): Promise<void> => {
      const deadline = s.nowUs + boundUs;
      while (!(await condition())) {
        if (s.nowUs >= deadline) {
          const views = await Promise.all(c.alive().map(async (n) => `${n.id}: ${(await mapOf(n)).nodes.map((x) => `${x.nodeId}=${x.status}`).join(',')}`));
          throw new Error(`${what}: not within the bound (virtual ${(s.nowUs - killedAt) / S} s after the kill); maps ${views.join('; ')}; node errors ${JSON.stringify(c.nodeErrors.slice(0, 5))}`);
        }
        await s.runUntil(s.nowUs + 500 * MS);
      }
    };

    // Past inactive-after: both dead nodes are inactive in the map every AZ serves.
    await waitFor('both killed nodes inactive in the map', (INACTIVE_AFTER_S + 30) * S, async () => {
      for (const n of c.alive()) if ((await statusIn(n, victim.id)) !== 'inactive' || (await statusIn(n, returner.id)) !== 'inactive') return false;
      return true;
    });
    const inactiveAfterUs = s.nowUs - killedAt;
    expect(inactiveAfterUs, 'not before inactive-after').to.be.at.least(INACTIVE_AFTER_S * S);
    expect((await observer.node!.app.store.getNode(victim.id))?.inactiveSince, 'the state records when it was last seen').to.be.a('number');
    // Still a voter: inactive is not removed.
    const deadLeader = () => c.localLeaderOf(deadAz!);
    expect(deadLeader()!.node!.consensus.status().local.confState.voters).to.include(victim.id);

    // The returner comes back (same disk) before remove-after: active again.
    await c.start(returner.id, { mode: 'restart' });
    await waitFor('the returned node active again', 30 * S, async () => {
      for (const n of c.alive()) if ((await statusIn(n, returner.id)) !== 'active') return false;
      return true;
    });
    expect(s.nowUs - killedAt, 'it came back before remove-after').to.be.below(REMOVE_AFTER_S * S);

    // Past remove-after: the victim leaves its group, its identity is revoked.
    await waitFor('the victim removed from its local group', (REMOVE_AFTER_S + 60) * S - (s.nowUs - killedAt), async () => {
      const conf = deadLeader()?.node!.consensus.status().local.confState;
      return conf !== undefined && conf.voters.length === 2 && !conf.voters.includes(victim.id) && !conf.learners.includes(victim.id);
    });
    expect(s.nowUs - killedAt, 'not before remove-after').to.be.at.least(REMOVE_AFTER_S * S);
    await waitFor('every live node applied the removal', BOUND_US, async () => {
      for (const n of c.alive()) if ((await statusIn(n, victim.id)) !== 'revoked') return false;
      return true;
    });
    for (const n of c.alive()) {
      const store = n.node!.app.store;
      expect((await store.getCa(victimIca.issuerId))?.revokedAt, `${n.id}: the victim's node ICA is revoked`).to.be.a('number');
      expect(await store.getRevocation(victimIca.parentIssuerId!, victimIca.serialHex), `${n.id}: its ICA certificate is on its AZ ICA's revocations`).to.not.equal(undefined);
      const revocations = (await store.revocations()).filter((r) => r.serialHex === tlsSerial);
      expect(revocations.map((r) => r.reason), `${n.id}: its TLS certificate is revoked`).to.deep.equal(['cessationOfOperation']);
      expect(await n.node!.withdrawnNodeIds()).to.include(victim.id);
      expect([...(await n.node!.nodeTlsPins()).keys()], `${n.id}: the mesh pins no longer admit it`).to.not.include(victim.id);
      expect(await store.getNode(returner.id), `${n.id}: the returner stays registered`).to.not.have.property('inactiveSince');
    }

    // The AZ's seat is acted by a live node (the seat follows the local leader), and the AZ
    // commits with its 2 voters: issuance there, a revocation through the global log from there.
    const leader = deadLeader()!;
    expect(leader.id).to.not.equal(victim.id);
    expect(leader.node!.consensus.status().seat?.role ?? 'inactive', "the AZ's seat is acted by its live local leader").to.not.equal('inactive');
    const mustIssue = async (requester: string): Promise<PkiIssued> => {
      for (let attempt = 1; attempt <= 5; attempt++) {
        const issued = await runUntilSettled(c, issueVia(c, leader.id, requester, ledger), s.nowUs + BOUND_US);
        if (issued) return issued;
        await s.runUntil(s.nowUs + 200 * MS);
      }
      throw new Error(`no issuance in ${deadAz} (failures ${JSON.stringify([...ledger.failures])})`);
    };
    const cert = await mustIssue('after-aging');
    expect(await runUntilSettled(c, revokeVia(c, leader.id, cert, ledger), s.nowUs + BOUND_US), 'a global commit from the AZ').to.equal(true);

    // The victim comes back: its registration is refused for good and it does not rejoin.
    const refusal = await leader.node!.handlePeer(victim.id, { kind: 'register', nodeId: victim.id, az: deadAz!, addresses: victimRecord.addresses, icaCsrDer: new Uint8Array(0), tlsCsrDer: new Uint8Array(0) }).then(
      (r) => (r.kind === 'error' ? r.code : r.kind),
      (e: unknown) => (isPkiError(e) ? e.code : String(e)),
    );
    expect(refusal, 'registration under the removed id').to.equal('ERR_NODE_REVOKED');
    await c.start(victim.id, { mode: 'restart' });
    await s.runUntil(s.nowUs + 10 * S);
    const conf = deadLeader()!.node!.consensus.status().local.confState;
    expect([...conf.voters, ...conf.learners], 'the removed node is not taken back').to.not.include(victim.id);
    expect(deadLeader()!.id).to.not.equal(victim.id);
    expect(await serialReuse(c)).to.deep.equal([]);
    expect(c.nodeErrors.filter((e) => /NodeActivityMarked|aging|malformed/.test(e)), 'no aging step failed').to.deep.equal([]);
    expect(c.checker.violations).to.deep.equal([]);
  });

  it('a wall clock stepping forward past remove-after ages out no node that answers (silences are measured on monotonic clocks)', async () => {
    const c = (cluster = new PkiSimCluster({ seed: 42, aging: { nodeInactiveAfterSeconds: INACTIVE_AFTER_S, nodeRemoveAfterSeconds: REMOVE_AFTER_S } }));
    const s = c.scheduler;
    expect(await c.form(60 * S), 'the cluster forms').to.equal(true);
    await s.runUntil(s.nowUs + 5 * S);
    const before = await mapOf(c.alive()[0]!);
    // A follower is cut off for 5 s (no ping answered, no Raft response) while NTP steps every
    // node's calendar an hour ahead at once (cluster-wide: nowMs is shared). Measured on the wall
    // clock, its silence would be an hour: past remove-after, with 2 of 3 voters live.
    const cut = c.alive().find((n) => !n.node!.status().pkiLocalLeader)!;
    c.network.isolateNode(cut.id);
    await s.runUntil(s.nowUs + 1 * S);
    c.wallOffsetMs += 3600 * 1000;
    await s.runUntil(s.nowUs + 4 * S);
    c.network.heal();
    await s.runUntil(s.nowUs + 20 * S);
    for (const n of c.alive()) {
      const map = await mapOf(n);
      expect(map.nodes.map((x) => `${x.nodeId}=${x.status}`), `${n.id}'s map`).to.deep.equal(before.nodes.map((x) => `${x.nodeId}=active`));
      expect((await n.node!.app.store.nodes()).filter((x) => x.inactiveSince !== undefined), `${n.id}: no node recorded inactive`).to.deep.equal([]);
    }
    for (const az of c.azs) expect(c.localLeaderOf(az.name)?.node!.consensus.status().local.confState.voters, `${az.name} keeps 3 voters`).to.have.length(3);
    expect(c.nodeErrors.filter((e) => /NodeActivityMarked|aging|malformed/.test(e)), 'no aging step failed').to.deep.equal([]);
    expect(c.checker.violations).to.deep.equal([]);
  });
});
