// The scenarios of the two-tier issue, run with PkiNodes (3 AZs × 3, formed as the product forms
// a cluster) on virtual time: kill an AZ's local leader; kill the node that is global leader;
// partition one AZ from the others; restart everything; cold start. Certificates are issued and
// revoked through PkiNode's API around every fault, and each scenario ends with the PKI checks:
// every acknowledged certificate in every node of its AZ, every acknowledged revocation in every
// node of every AZ, no serial used twice, and the checkers' verdict on every instant (one leader
// per tier and term, never two holders of a VIP).
import { expect } from 'chai';
import { isPkiError } from '@adrestia/pki-core';
import { PkiLedger, PkiSimCluster, SIM_GLOBAL_VIP, issueVia, pkiViolations, revokeVia, runUntilSettled, serialReuse, type PkiIssued } from '../src/cluster/index.ts';


const MS = 1000;
const BOUND_US = 20_000 * MS;

interface PkiWorld {
  cluster: PkiSimCluster;
  ledger: PkiLedger;
}

async function formed(seed: number): Promise<PkiWorld> {
  const cluster = new PkiSimCluster({ seed, maxSkewPermille: 20, snapshotEveryEntries: 60 });
  expect(await cluster.form(60_000 * MS), 'the cluster forms').to.equal(true);
  return { cluster, ledger: new PkiLedger() };
}

/** Issues through the AZ's nodes (leader first) until one acknowledges, within the bound. */
async function mustIssue(w: PkiWorld, az: string, requester: string): Promise<PkiIssued> {
  const s = w.cluster.scheduler;
  const deadline = s.nowUs + BOUND_US;
  for (let i = 0; s.nowUs < deadline; i++) {
    const nodes = w.cluster.nodesOf(az).filter((n) => n.alive);
    const target = w.cluster.localLeaderOf(az) ?? nodes[i % Math.max(1, nodes.length)];
    if (target) {
      const issued = await runUntilSettled(w.cluster, issueVia(w.cluster, target.id, requester, w.ledger), deadline);
      if (issued) return issued;
    }
    await s.runUntil(s.nowUs + 100 * MS);
  }
  throw new Error(`no issuance in ${az} within the bound`);
}

/** Revokes through a live node of `viaAz` (another AZ hands it to the issuing one) until acknowledged (global commit). */
async function mustRevoke(w: PkiWorld, viaAz: string, cert: PkiIssued): Promise<void> {
  const s = w.cluster.scheduler;
  const deadline = s.nowUs + BOUND_US;
  while (s.nowUs < deadline) {
    const target = w.cluster.localLeaderOf(viaAz) ?? w.cluster.nodesOf(viaAz).find((n) => n.alive);
    if (target && (await runUntilSettled(w.cluster, revokeVia(w.cluster, target.id, cert, w.ledger), deadline))) return;
    await s.runUntil(s.nowUs + 100 * MS);
  }
  throw new Error(`revocation of ${cert.serialHex} via ${viaAz} not acknowledged within the bound (failures ${JSON.stringify([...w.ledger.failures])})`);
}

/** Every acknowledgement in place on every node, no serial reused, no checker violation. */
async function settledAndClean(w: PkiWorld): Promise<void> {
  const s = w.cluster.scheduler;
  const deadline = s.nowUs + BOUND_US;
  let missing = await pkiViolations(w.cluster, w.ledger);
  while (missing.length > 0 && s.nowUs < deadline) {
    await s.runUntil(s.nowUs + 100 * MS);
    missing = await pkiViolations(w.cluster, w.ledger);
  }
  expect(missing, 'acknowledged certificates and revocations everywhere').to.deep.equal([]);
  expect(await serialReuse(w.cluster)).to.deep.equal([]);
  expect(w.cluster.checker.violations).to.deep.equal([]);
}

/** Polls an async condition every 100 ms of virtual time, within the bound. */
async function pollUntil(w: PkiWorld, what: string, condition: () => Promise<boolean>): Promise<void> {
  const s = w.cluster.scheduler;
  const deadline = s.nowUs + BOUND_US;
  while (!(await condition())) {
    if (s.nowUs >= deadline) throw new Error(`${what}: not within the bound`);
    await s.runUntil(s.nowUs + 100 * MS);
  }
}

async function waitFor(w: PkiWorld, what: string, condition: () => boolean): Promise<void> {
  expect(await w.cluster.scheduler.runUntilTrue(condition, BOUND_US), what).to.equal(true);
}

describe('PKI scenarios on the simulated cluster (3 AZs × 3 PkiNodes)', function () {
  this.timeout(120_000);
  let w: PkiWorld | null = null;

  afterEach(async () => {
    await w?.cluster.stopAll();
    w = null;
  });

  it("kill an AZ's local leader: the AZ elects another, the local VIP moves to it, issuance and revocation go on", async () => {
    w = await formed(21);
    const g = w.cluster.globalLeader()!;
    const az = w.cluster.azs.map((a) => a.name).find((name) => name !== g.az)!;
    const localVip = w.cluster.azs.find((a) => a.name === az)!.localVip;
    const before = await mustIssue(w, az, 'before-crash');
    const victim = w.cluster.localLeaderOf(az)!;
    await waitFor(w, 'the local VIP on the local leader', () => w!.cluster.vips.holder(localVip) === victim.id);
    await w.cluster.crash(victim.id);
    await waitFor(w, 'a new local leader', () => (w!.cluster.localLeaderOf(az)?.id ?? victim.id) !== victim.id);
    const successor = w.cluster.localLeaderOf(az)!;
    await waitFor(w, 'the local VIP moved to the new leader', () => w!.cluster.vips.holder(localVip) === successor.id);
    expect(w.cluster.globalLeader()?.id, 'the global leader is another AZ and stays').to.equal(g.id);
    const after = await mustIssue(w, az, 'after-crash');
    const victimIssuer = (await successor.node!.app.store.cas()).find((c) => c.nodeId === victim.id)!.issuerId;
    expect(after.issuerId, 'signed by a live node, not the dead one').to.not.equal(victimIssuer);
    await mustRevoke(w, az, before);
    await settledAndClean(w);
  });

  it('kill the node that is global leader: another node leads the global group, the global VIP moves, every AZ revokes', async () => {
    w = await formed(22);
    const issued = [];
    for (const az of w.cluster.azs) issued.push(await mustIssue(w, az.name, `before-${az.name}`));
    const victim = w.cluster.globalLeader()!;
    await waitFor(w, 'the global VIP on the global leader', () => w!.cluster.vips.holder(SIM_GLOBAL_VIP) === victim.id);
    await w.cluster.crash(victim.id);
    await waitFor(w, 'a new global leader', () => (w!.cluster.globalLeader()?.id ?? victim.id) !== victim.id);
    const successor = w.cluster.globalLeader()!;
    await waitFor(w, 'the global VIP moved to the new global leader', () => w!.cluster.vips.holder(SIM_GLOBAL_VIP) === successor.id);
    // Each AZ revokes the certificate its neighbour issued: the request is handed to the issuing AZ.
    const names = w.cluster.azs.map((a) => a.name);
    for (const [i, cert] of issued.entries()) await mustRevoke(w, names[(i + 1) % names.length]!, cert);
    await settledAndClean(w);
  });

  it("partition the global leader's AZ: it keeps issuing; its revocations fail with ERR_NO_GLOBAL_QUORUM and succeed after the heal", async () => {
    w = await formed(23);
    const az = w.cluster.globalLeader()!.az;
    const names = w.cluster.azs.map((a) => a.name);
    const cert = await mustIssue(w, az, 'before-partition');
    w.cluster.network.isolateAz(az, names, false);
    const during = await mustIssue(w, az, 'during-partition');
    expect(during.az).to.equal(az);
    // The refusal names the missing global quorum (the caller may retry); nothing is recorded.
    const node = w.cluster.localLeaderOf(az)!.node!;
    const s = w.cluster.scheduler;
    let refusal: unknown = null;
    const attempt = node.revoke({ serialHex: cert.serialHex, issuerId: cert.issuerId, reason: 'keyCompromise', requestedBy: 'scenario' }).then(
      () => 'committed',
      (e: unknown) => (refusal = e),
    );
    expect(await runUntilSettled(w.cluster, attempt, s.nowUs + BOUND_US)).to.not.equal('committed');
    expect(isPkiError(refusal) && refusal.code, String(refusal)).to.equal('ERR_NO_GLOBAL_QUORUM');
    // The majority side elects a global leader and revokes meanwhile.
    const other = names.find((n) => n !== az)!;
    await waitFor(w, 'a global leader on the majority side', () => (w!.cluster.globalLeader()?.az ?? az) !== az);
    const otherCert = await mustIssue(w, other, 'majority-side');
    await mustRevoke(w, other, otherCert);
    w.cluster.network.heal();
    await mustRevoke(w, az, cert);
    await settledAndClean(w);
    for (const n of w.cluster.alive()) {
      expect(await n.node!.app.store.getRevocation(cert.issuerId, cert.serialHex), `${n.id} holds the revocation made after the heal`).to.not.equal(undefined);
    }
  });

  it('remove an AZ while the others serve: its seat leaves the global group, its nodes are withdrawn, the others issue and revoke', async () => {
    w = await formed(25);
    const g = w.cluster.globalLeader()!;
    const names = w.cluster.azs.map((a) => a.name);
    const [asking, removed] = names.filter((n) => n !== g.az).length >= 2 ? [g.az, names.filter((n) => n !== g.az)[0]!] : [names[0]!, names[1]!];
    const kept = names.filter((n) => n !== removed);
    const before = await mustIssue(w, kept[0]!, 'before-removal');
    const s = w.cluster.scheduler;
    let removal: unknown = null;
    const done = (async () => {
      for (;;) {
        const via = w.cluster.localLeaderOf(asking);
        if (via) {
          try {
            return await via.node!.removeAz(removed, 'scenario');
          } catch (e) {
            removal = e;
          }
        }
        await s.runUntil(s.nowUs + 200 * MS);
      }
    })();
    expect(await runUntilSettled(w.cluster, done, s.nowUs + 60_000 * MS), `removal finished (${String(removal)})`).to.not.equal(null);
    const leader = w.cluster.globalLeader()!;
    const seat = leader.node!.consensus.status().seat!;
    expect([...seat.confState.voters, ...seat.confState.learners], 'the seat left the global group').to.not.include(removed);
    // The operator shuts the decommissioned AZ's machines down.
    for (const n of w.cluster.nodesOf(removed)) await w.cluster.crash(n.id);
    await pollUntil(w, `every remaining node applied the removal of ${removed}`, async () => {
      for (const n of w!.cluster.alive()) {
        const store = n.node!.app.store;
        if ((await store.getAz(removed)) !== undefined || (await store.nodes()).some((x) => x.az === removed)) return false;
      }
      return true;
    });
    // The AZs that remain keep both tiers: issuance, and a revocation handed across AZs.
    const after = await mustIssue(w, kept[1]!, 'after-removal');
    await mustRevoke(w, kept[1]!, before);
    await mustRevoke(w, kept[0]!, after);
    await settledAndClean(w);
  });

  it('restart every node one after another, then cold-start all nine at once: nothing acknowledged is lost', async () => {
    w = await formed(24);
    const names = w.cluster.azs.map((a) => a.name);
    const first = await mustIssue(w, names[0]!, 'first');
    await mustRevoke(w, names[0]!, first);
    for (const n of [...w.cluster.nodes.values()]) {
      await w.cluster.crash(n.id);
      await w.cluster.start(n.id, { mode: 'restart' });
      await waitFor(w, `leaders after restarting ${n.id}`, () => w!.cluster.globalLeader() !== null && names.every((az) => w!.cluster.localLeaderOf(az) !== null));
      await mustIssue(w, n.az, `after-restart-${n.id}`);
    }
    for (const n of w.cluster.nodes.values()) await w.cluster.crash(n.id);
    await Promise.all([...w.cluster.nodes.keys()].map((id) => w!.cluster.start(id, { mode: 'restart' })));
    await waitFor(w, 'leaders after the cold start', () => w!.cluster.globalLeader() !== null && names.every((az) => w!.cluster.localLeaderOf(az) !== null));
    for (const az of names) await mustRevoke(w, az, await mustIssue(w, az, `after-cold-start-${az}`));
    await settledAndClean(w);
  });
});
