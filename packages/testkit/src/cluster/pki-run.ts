// One seeded run of PkiNodes under faults, with the PKI invariants (docs/architecture.md §11):
//   - no issuer uses a serial twice: every record of (issuer, serial) is the same certificate on
//     every node, and no two acknowledged certificates share an issuer and serial;
//   - every acknowledged certificate is held, after recovery, by every node of its AZ;
//   - every acknowledged revocation is held, after recovery, by every node of every AZ;
//   - the live replicas of an AZ at one applied index hold the same state (pki-replica-state.ts);
//   - replicas of a log agree on its audit chain at every position they both hold (audit-agreement.ts);
// plus election safety in both tiers (ClusterChecker) and liveness after the heal (leaders, a
// fresh issuance in every AZ and a fresh revocation commit).
import type { IssuedLeafResult } from '@adrestia/pki-core';
import { runUntilSettled } from './clients.ts';
import { errorCode, FSYNC_SHAPES } from './sim-cluster.ts';
import type { Violation } from './checkers.ts';
import { PkiSimCluster, SIM_GLOBAL_VIP } from './pki-cluster.ts';
import { CALM_LINKS } from './sim-network.ts';
import { auditChainDisagreements, verifiedCheckpoints } from './audit-agreement.ts';
import { duplicateSerialViolations, injectDuplicateIssued, type DuplicateInjection } from './pki-serial-faults.ts';
import { replicasCaughtUp, replicaStateViolations } from './pki-replica-state.ts';

export interface PkiIssued {
  az: string;
  requester: string;
  issuerId: string;
  serialHex: string;
  der: string;
}

export class PkiLedger {
  readonly issued: PkiIssued[] = [];
  readonly revoked: { issuerId: string; serialHex: string; az: string }[] = [];
  readonly failures = new Map<string, number>();
  /** Duplicate `Issued` events a buggy proposer injected (pki-serial-faults.ts). */
  readonly duplicates: DuplicateInjection[] = [];

  fail(code: string): void {
    this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
  }
}

const POLL_US = 100_000;

/** Issues one leaf through node `id` (any ready node signs with its own node ICA). */
export async function issueVia(cluster: PkiSimCluster, id: string, requester: string, ledger: PkiLedger): Promise<PkiIssued | null> {
  const n = cluster.get(id);
  if (!n.alive || !n.node) return (ledger.fail('ERR_UNREACHABLE'), null);
  try {
    const leaf: IssuedLeafResult = await n.node.issue({ csr: cluster.csrDer, profile: 'serverLeaf', requester });
    const rec: PkiIssued = { az: n.az, requester, issuerId: leaf.issuerId, serialHex: leaf.serialHex, der: Buffer.from(leaf.certificateDer).toString('hex') };
    if (!leaf.duplicate) ledger.issued.push(rec);
    cluster.scheduler.trace(`issued ${requester} ${leaf.issuerId}/${leaf.serialHex} via ${id}`);
    return rec;
  } catch (e) {
    ledger.fail(errorCode(e));
    return null;
  }
}

export async function revokeVia(cluster: PkiSimCluster, id: string, cert: PkiIssued, ledger: PkiLedger): Promise<boolean> {
  const n = cluster.get(id);
  if (!n.alive || !n.node) return (ledger.fail('ERR_UNREACHABLE'), false);
  try {
    await n.node.revoke({ serialHex: cert.serialHex, issuerId: cert.issuerId, reason: 'keyCompromise', requestedBy: 'sim' });
    ledger.revoked.push({ issuerId: cert.issuerId, serialHex: cert.serialHex, az: cert.az });
    cluster.scheduler.trace(`revoked ${cert.issuerId}/${cert.serialHex} via ${id}`);
    return true;
  } catch (e) {
    ledger.fail(errorCode(e));
    return false;
  }
}

/** Closed-loop clients per AZ: one issuing, one revoking what any AZ issued. */
function startClients(cluster: PkiSimCluster, ledger: PkiLedger, running: () => boolean, busy: Set<string>): void {
  const r = cluster.scheduler.random;
  let requests = 0;
  for (const az of cluster.azs.map((a) => a.name)) {
    const loop = (kind: 'issue' | 'revoke'): void => {
      cluster.scheduler.after(20_000 + r.nextInt(150_000), `pki client ${kind} ${az}`, () => {
        if (!running()) return;
        const nodes = cluster.nodesOf(az);
        const target = nodes[r.nextInt(nodes.length)]!.id;
        const key = `${kind}/${az}`;
        busy.add(key);
        const done = (): void => {
          busy.delete(key);
          loop(kind);
        };
        if (kind === 'issue') void issueVia(cluster, target, `client-${az}-${++requests}`, ledger).then(done);
        else {
          // Any AZ's certificate: one issued elsewhere is handed to its issuing AZ (revocation-routing).
          const candidates = ledger.issued.filter((c) => !ledger.revoked.some((v) => v.serialHex === c.serialHex && v.issuerId === c.issuerId));
          if (candidates.length === 0) return done();
          void revokeVia(cluster, target, candidates[r.nextInt(candidates.length)]!, ledger).then(done);
        }
      });
    };
    loop('issue');
    loop('revoke');
  }
}

/** Violations of the PKI invariants on the live nodes now (empty when everything is in place). */
export async function pkiViolations(cluster: PkiSimCluster, ledger: PkiLedger): Promise<string[]> {
  const out: string[] = [];
  const acked = new Map<string, string>();
  for (const c of ledger.issued) {
    const key = `${c.issuerId}/${c.serialHex}`;
    if (acked.has(key) && acked.get(key) !== c.der) out.push(`serial ${key} acknowledged for two different certificates`);
    acked.set(key, c.der);
  }
  for (const n of cluster.alive()) {
    const store = n.node!.app.store;
    for (const c of ledger.issued.filter((x) => x.az === n.az)) {
      const rec = await store.getCertificate(c.issuerId, c.serialHex);
      if (!rec) out.push(`${n.id} lacks acknowledged certificate ${c.issuerId}/${c.serialHex}`);
      else if (Buffer.from(rec.certDer).toString('hex') !== c.der) out.push(`${n.id} holds another certificate under ${c.issuerId}/${c.serialHex}`);
    }
    for (const v of ledger.revoked) {
      if (!(await store.getRevocation(v.issuerId, v.serialHex))) out.push(`${n.id} lacks acknowledged revocation ${v.issuerId}/${v.serialHex}`);
    }
  }
  return out;
}

/** Every (issuer, serial) held anywhere names one certificate (no serial used twice by an issuer). */
export async function serialReuse(cluster: PkiSimCluster): Promise<string[]> {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const n of cluster.alive()) {
    const store = n.node!.app.store;
    for (const ca of await store.cas()) {
      for (const rec of await store.listCertificates(ca.issuerId)) {
        const key = `${ca.issuerId}/${rec.serialHex}`;
        const der = Buffer.from(rec.certDer).toString('hex');
        if (seen.has(key) && seen.get(key) !== der) out.push(`issuer ${ca.issuerId} used serial ${rec.serialHex} for two certificates (seen on ${n.id})`);
        seen.set(key, der);
      }
    }
  }
  return out;
}

export interface PkiRunResult {
  seed: number;
  violations: Violation[];
  issued: number;
  revoked: number;
  failures: Record<string, number>;
  faults: string[];
  virtualMs: number;
  nodeErrors: string[];
  /** Every certificate acknowledged to a client (DER, hex), in acknowledgement order. */
  issuedDer: string[];
  /** The CA certificates a live node held at the end: the root first, then AZ and node ICAs. */
  caCertsDer: Uint8Array[];
  /** VIP acquisitions over the run (each one checked against the current holder). */
  vipAcquisitions: number;
  /** Acquisitions while the previous holder was stalled (it must release as it resumes). */
  vipStallOverlaps: number;
  /** Hash of the run's trace: equal for every replay of the seed. */
  traceHash: string;
  eventsRun: number;
  /** The proposer's outcome of each injected duplicate `Issued` (pki-serial-faults.ts). */
  duplicateOutcomes: (string | null)[];
  /** Signed audit checkpoints found valid in the live nodes' histories at the end, summed over nodes and logs. */
  auditCheckpointsVerified: number;
}

/**
 * `instantDisks`: synced saves durable at once and no crash between persist and send, the
 * schedules of runs made before disks had latencies (regression seeds found then replay them).
 */
export async function runPkiSeed(options: { seed: number; chaosMs?: number; recoveryBoundMs?: number; instantDisks?: boolean; auditCheckpointEverySeconds?: number }): Promise<PkiRunResult> {
  // The disk's fsync latency from the seed, on its own arithmetic (it does not shift the run's stream).
  const fsync = options.instantDisks === true ? undefined : FSYNC_SHAPES[(Math.imul(options.seed ^ 0x2f6b1d3, 0x9e3779b1) >>> 7) % FSYNC_SHAPES.length]!;
  const checkpoints = options.auditCheckpointEverySeconds === undefined ? {} : { auditCheckpointEverySeconds: options.auditCheckpointEverySeconds };
  const cluster = new PkiSimCluster({ seed: options.seed, maxSkewPermille: 50, snapshotEveryEntries: 60, ...(fsync ? { fsync } : {}), ...checkpoints });
  const s = cluster.scheduler;
  const ledger = new PkiLedger();
  const faults: string[] = [];
  const busy = new Set<string>();
  let running = true;
  try {
    if (!(await cluster.form(60_000_000))) cluster.checker.report('liveness', 'the PKI cluster did not form within 60 s');
    else {
      // Formed with full-range serials; from here two issuances of one node ICA may collide.
      cluster.tinySerials = true;
      startClients(cluster, ledger, () => running, busy);
      await pkiChaos(cluster, (options.chaosMs ?? 3_000) * 1000, faults, ledger, busy, fsync !== undefined);
      running = false;
      await pkiHeal(cluster, faults);
      await pkiRecovery(cluster, ledger, (options.recoveryBoundMs ?? 30_000) * 1000, busy);
    }
  } catch (error) {
    cluster.checker.reportFailure(error, `pnpm sim -- --cluster --pki --seed ${options.seed}`);
  }
  const caCertsDer = await caCertificates(cluster).catch(() => []);
  const auditCheckpointsVerified = await verifiedCheckpoints(cluster).catch(() => 0);
  await cluster.stopAll().catch(() => {});
  return {
    seed: options.seed,
    issuedDer: ledger.issued.map((c) => c.der),
    caCertsDer,
    violations: cluster.checker.violations,
    issued: ledger.issued.length,
    revoked: ledger.revoked.length,
    failures: Object.fromEntries([...ledger.failures].sort(([a], [b]) => a.localeCompare(b))),
    faults,
    virtualMs: s.nowMs,
    nodeErrors: cluster.nodeErrors,
    vipAcquisitions: cluster.vips.acquisitions.length,
    vipStallOverlaps: cluster.vips.stallOverlaps,
    traceHash: s.traceHash(),
    eventsRun: s.eventsRun,
    duplicateOutcomes: ledger.duplicates.map((d) => d.outcome),
    auditCheckpointsVerified,
  };
}

/** The root, then every other CA certificate, as a live node holds them. */
async function caCertificates(cluster: PkiSimCluster): Promise<Uint8Array[]> {
  const node = cluster.alive()[0];
  if (!node) return [];
  const cas = await node.node!.app.store.cas();
  return [...cas.filter((c) => c.role === 'root'), ...cas.filter((c) => c.role !== 'root')].map((c) => c.certDer);
}

async function pkiChaos(cluster: PkiSimCluster, durationUs: number, faults: string[], ledger: PkiLedger, busy: Set<string>, cutsAtFsync: boolean): Promise<void> {
  const s = cluster.scheduler;
  const r = s.random;
  const end = s.nowUs + durationUs;
  cluster.network.faults = { lossPermille: r.nextInt(50), duplicatePermille: r.nextInt(30), minDelayUs: 300, maxDelayUs: 300 + r.nextInt(5_000), spikePermille: r.nextInt(10), spikeDelayUs: 50_000 };
  while (s.nowUs < end) {
    await s.runUntil(Math.min(end, s.nowUs + 200_000 + r.nextInt(500_000)));
    if (s.nowUs >= end) break;
    const nodes = [...cluster.nodes.values()];
    const pick = <T>(xs: readonly T[]): T => xs[r.nextInt(xs.length)]!;
    let what: string;
    switch (r.nextInt(7)) {
      case 0: {
        const up = nodes.filter((n) => n.alive);
        const victim = r.nextInt(2) === 0 ? (cluster.globalLeader() ?? pick(up)) : pick(up);
        if (cutsAtFsync && r.nextInt(3) === 0) {
          // The crash falls between persist and send: right after the victim's next fsync completes.
          victim.disk.cutAfterNextSync = () => cluster.crash(victim.id);
          what = `crash ${victim.id} at its next fsync`;
          break;
        }
        await cluster.crash(victim.id);
        what = `crash ${victim.id}`;
        break;
      }
      case 1: {
        const down = nodes.filter((n) => !n.alive);
        if (down.length === 0) what = 'none';
        else {
          const n = pick(down);
          await cluster.start(n.id, { mode: 'restart' }).catch(() => {});
          what = `restart ${n.id}`;
        }
        break;
      }
      case 2:
        cluster.network.isolateNode(pick(nodes).id, r.nextInt(3) === 0);
        what = 'isolate a node';
        break;
      case 3: {
        const az = pick(cluster.azs).name;
        cluster.network.isolateAz(az, cluster.azs.map((a) => a.name), r.nextInt(3) === 0);
        what = `isolate AZ ${az}`;
        break;
      }
      case 4:
        cluster.network.heal();
        what = 'heal network';
        break;
      case 5:
        what = stallSomeNode(cluster);
        break;
      default:
        what = await injectDuplicate(cluster, ledger, busy);
    }
    s.trace(`fault ${what}`);
    faults.push(`${Math.round(s.nowMs)}ms ${what}`);
  }
}

/** A buggy proposer's duplicate `Issued` (pki-serial-faults.ts); `busy` until it settles. */
async function injectDuplicate(cluster: PkiSimCluster, ledger: PkiLedger, busy: Set<string>): Promise<string> {
  const r = cluster.scheduler.random;
  const injected = await injectDuplicateIssued(cluster, ledger.issued, ledger.revoked, (n) => r.nextInt(n));
  if (injected === null) return 'none';
  const { injection, settled } = injected;
  const key = `duplicate/${ledger.duplicates.length}`;
  ledger.duplicates.push(injection);
  busy.add(key);
  void settled.then(() => {
    busy.delete(key);
    cluster.scheduler.trace(`duplicate Issued ${injection.issuerId}/${injection.serialHex}: ${injection.outcome}`);
  });
  return `duplicate Issued ${injection.issuerId}/${injection.serialHex}`;
}

/**
 * A process stall (PkiSimCluster.stall) of 0.5–4 election timeouts of the tier the node leads:
 * half the time a VIP holder (the global leader or a local leader), else any live node.
 */
function stallSomeNode(cluster: PkiSimCluster): string {
  const r = cluster.scheduler.random;
  const up = cluster.alive();
  if (up.length === 0) return 'none';
  const holders = [cluster.globalLeader(), ...cluster.azs.map((az) => cluster.localLeaderOf(az.name))].filter((n) => n !== null);
  const pool = r.nextInt(2) === 0 && holders.length > 0 ? holders : up;
  const victim = pool[r.nextInt(pool.length)]!;
  const timeoutMs = victim === cluster.globalLeader() ? cluster.electionTimeoutMs.global : cluster.electionTimeoutMs.local;
  const durationUs = Math.round(timeoutMs * 1000 * (0.5 + r.nextInt(3501) / 1000));
  cluster.stall(victim.id, durationUs);
  return `stall ${victim.id} ${Math.round(durationUs / 1000)}ms`;
}

async function pkiHeal(cluster: PkiSimCluster, faults: string[]): Promise<void> {
  cluster.network.faults = { ...CALM_LINKS };
  cluster.network.heal();
  for (const n of cluster.nodes.values()) if (!n.alive) await cluster.start(n.id, { mode: 'restart' });
  faults.push(`${Math.round(cluster.scheduler.nowMs)}ms heal: links calm, network healed, all nodes up`);
}

/** Liveness (leaders, a fresh issuance per AZ, a fresh revocation), then the PKI invariants. */
async function pkiRecovery(cluster: PkiSimCluster, ledger: PkiLedger, boundUs: number, busy: Set<string>): Promise<void> {
  const s = cluster.scheduler;
  const deadline = s.nowUs + boundUs;
  const leadersUp = (): boolean => cluster.globalLeader() !== null && cluster.azs.every((az) => cluster.localLeaderOf(az.name) !== null);
  if (!(await s.runUntilTrue(leadersUp, boundUs))) return cluster.checker.report('liveness', 'no full set of PKI leaders after heal');
  if (!(await s.runUntilTrue(() => vipsWithLeaders(cluster), Math.max(0, deadline - s.nowUs)))) {
    return cluster.checker.report('liveness', `VIPs not held by the leaders after heal: ${vipHolders(cluster)}`);
  }
  let probe: PkiIssued | null = null;
  for (const az of cluster.azs.map((a) => a.name)) {
    probe = null;
    for (let i = 0; probe === null && s.nowUs < deadline; i++) {
      const target = cluster.localLeaderOf(az)?.id ?? cluster.nodesOf(az)[i % 3]!.id;
      probe = await runUntilSettled(cluster, issueVia(cluster, target, `probe-${az}-${i}`, ledger), deadline);
      if (probe === null) await s.runUntil(Math.min(deadline, s.nowUs + 50_000));
    }
    if (probe === null) return cluster.checker.report('liveness', `no issuance in ${az} after heal`);
  }
  let revoked = false;
  for (let i = 0; !revoked && s.nowUs < deadline; i++) {
    const target = cluster.localLeaderOf(probe!.az)?.id ?? cluster.nodesOf(probe!.az)[i % 3]!.id;
    revoked = (await runUntilSettled(cluster, revokeVia(cluster, target, probe!, ledger), deadline)) === true;
    if (!revoked) await s.runUntil(Math.min(deadline, s.nowUs + 50_000));
  }
  if (!revoked) return cluster.checker.report('liveness', 'no revocation committed after heal');
  let missing = await pkiViolations(cluster, ledger);
  while ((missing.length > 0 || busy.size > 0) && s.nowUs < deadline) {
    await s.runUntil(Math.min(deadline, s.nowUs + POLL_US));
    missing = await pkiViolations(cluster, ledger);
  }
  for (const m of missing) cluster.checker.report('durability', m);
  for (const m of await serialReuse(cluster)) cluster.checker.report('durability', m);
  for (const m of await duplicateSerialViolations(cluster, ledger.duplicates)) cluster.checker.report('serial', m);
  await s.runUntilTrue(() => replicasCaughtUp(cluster), Math.max(0, deadline - s.nowUs));
  for (const m of await replicaStateViolations(cluster)) cluster.checker.report('replica-state', m);
  for (const m of await auditChainDisagreements(cluster)) cluster.checker.report('audit', m);
}

/** The global VIP on the global leader, each local VIP on its AZ's local leader. */
function vipsWithLeaders(cluster: PkiSimCluster): boolean {
  const g = cluster.globalLeader();
  if (g === null || cluster.vips.holder(SIM_GLOBAL_VIP) !== g.id) return false;
  return cluster.azs.every((az) => {
    const l = cluster.localLeaderOf(az.name);
    return l !== null && cluster.vips.holder(az.localVip) === l.id;
  });
}

function vipHolders(cluster: PkiSimCluster): string {
  return [SIM_GLOBAL_VIP, ...cluster.azs.map((a) => a.localVip)].map((v) => `${v}=${cluster.vips.holder(v) ?? 'none'}`).join(' ');
}
