// Ten virtual years of a PKI cluster with the default lifetimes (`sim --cluster --pki --years N`):
// 3 AZs × 3 PkiNodes on virtual time, the nodes' wall clock moved forward one step at a time
// (PkiSimCluster.wallOffsetMs) with a fault from the usual kinds in each step, and after every
// step the invariants of CA renewal (pki-core node/ca/renewal-policy.ts):
//   - issuance succeeds in every AZ, and every chain handed out verifies at its issue time
//     (signatures up to the root, every certificate valid at that instant);
//   - every registered node's TLS certificate, and the AZ ICA that signed it, are valid now;
//   - no issuer role (an AZ's ICA, a node's ICA) gets a successor before its predecessor's
//     renewal point: two valid CA certificates of one role only in the planned overlap.
// Steps are shorter than a third of the shortest CA lifetime (node TLS: 2 years), so every
// renewal has steps to happen in before anything expires.
import { X509Certificate } from 'node:crypto';
import { AZ_ICA_LEAD_SECONDS, nodeIcaLeadSeconds, pemBlocks, renewAtMs, viewCertificate } from '@adrestia/pki-core';
import type { Violation } from './checkers.ts';
import { errorCode } from './sim-cluster.ts';
import { PkiSimCluster } from './pki-cluster.ts';
import { CALM_LINKS } from './sim-network.ts';
import { runUntilSettled } from './clients.ts';

const DAY_MS = 86_400_000;
/** One step of the calendar: a quarter, far below a third of the node TLS certificate's 2 years. */
const STEP_DAYS = 91;
/** Virtual time each step runs for: several maintenance rounds (renewals, CRLs) and a fault. */
const STEP_US = 500_000;
/**
 * The calendar is compressed (a quarter per half virtual second) while a lost global proposal
 * waits for its timeout in virtual time (10 global election timeouts, seconds): a renewal asked
 * while its request was lost would sleep through quarters of calendar it never had. So after the
 * heal, while a node's TLS certificate is past its renewal point (two thirds of its lifetime) the
 * cluster runs on, up to RENEWAL_WAIT_MAX_US, before the step's checks.
 */
const RENEWAL_SLICE_US = 500_000;
const RENEWAL_WAIT_MAX_US = 8_000_000;
/** How long issuance in one AZ may take after a step before it counts as failed. */
const ISSUE_BOUND_US = 3_000_000;

export interface PkiYearsResult {
  seed: number;
  years: number;
  steps: number;
  violations: Violation[];
  issued: number;
  /** CA certificates installed by renewal over the run (AZ and node ICAs). */
  renewals: number;
  faults: string[];
  nodeErrors: string[];
  traceHash: string;
  virtualMs: number;
}

export async function runPkiYearsSeed(options: { seed: number; years: number }): Promise<PkiYearsResult> {
  const cluster = new PkiSimCluster({ seed: options.seed, maxSkewPermille: 50, snapshotEveryEntries: 60 });
  const steps = Math.ceil((options.years * 365) / STEP_DAYS);
  const faults: string[] = [];
  let issued = 0;
  let caCountAtStart = 0;
  let caCount = 0;
  try {
    if (!(await cluster.form(60_000_000))) cluster.checker.report('liveness', 'the PKI cluster did not form within 60 s');
    else {
      caCountAtStart = (await anyStore(cluster).cas()).length;
      for (let step = 1; step <= steps && cluster.checker.violations.length === 0; step++) {
        cluster.wallOffsetMs += STEP_DAYS * DAY_MS;
        faults.push(`day ${step * STEP_DAYS}: ${await stepFault(cluster)}`);
        await cluster.scheduler.runUntil(cluster.scheduler.nowUs + STEP_US);
        await healAll(cluster);
        await runWhileRenewalsDue(cluster);
        issued += await checkIssuance(cluster, step);
        await checkNodeCertificates(cluster, step);
        await checkPlannedOverlap(cluster, step);
      }
      caCount = (await anyStore(cluster).cas()).length;
    }
  } catch (error) {
    cluster.checker.reportFailure(error, `pnpm sim -- --cluster --pki --years ${options.years} --seed ${options.seed}`);
  }
  await cluster.stopAll().catch(() => {});
  return {
    seed: options.seed,
    years: options.years,
    steps,
    violations: cluster.checker.violations,
    issued,
    renewals: caCount - caCountAtStart,
    faults,
    nodeErrors: cluster.nodeErrors,
    traceHash: cluster.scheduler.traceHash(),
    virtualMs: cluster.scheduler.nowMs,
  };
}

function anyStore(cluster: PkiSimCluster) {
  const n = cluster.alive()[0];
  if (n === undefined) throw new Error('assertion failed: no live node to read the state from');
  return n.node!.app.store;
}

/** One fault of the usual kinds for the step: a crash (restarted after the step), an isolated node, a stall, or none. */
async function stepFault(cluster: PkiSimCluster): Promise<string> {
  const r = cluster.scheduler.random;
  const nodes = cluster.alive();
  const victim = nodes[r.nextInt(nodes.length)]!;
  switch (r.nextInt(4)) {
    case 0:
      await cluster.crash(victim.id);
      return `crash ${victim.id}`;
    case 1:
      cluster.network.isolateNode(victim.id, r.nextInt(2) === 0);
      return `isolate ${victim.id}`;
    case 2:
      cluster.stall(victim.id, 100_000 + r.nextInt(300_000));
      return `stall ${victim.id}`;
    default:
      return 'none';
  }
}

async function healAll(cluster: PkiSimCluster): Promise<void> {
  cluster.network.faults = { ...CALM_LINKS };
  cluster.network.heal();
  for (const n of cluster.nodes.values()) if (!n.alive) await cluster.start(n.id, { mode: 'restart' });
}

/** Runs the cluster on while some node's TLS certificate is past its renewal point (see RENEWAL_WAIT_MAX_US). */
async function runWhileRenewalsDue(cluster: PkiSimCluster): Promise<void> {
  const until = cluster.scheduler.nowUs + RENEWAL_WAIT_MAX_US;
  while (cluster.scheduler.nowUs < until && (await tlsRenewalDue(cluster))) await cluster.scheduler.runUntil(cluster.scheduler.nowUs + RENEWAL_SLICE_US);
}

async function tlsRenewalDue(cluster: PkiSimCluster): Promise<boolean> {
  const now = cluster.nowMs();
  for (const node of await anyStore(cluster).nodes()) {
    const tls = viewCertificate(node.tlsCertDer);
    const from = tls.notBefore.getTime();
    if (now >= from + ((tls.notAfter.getTime() - from) * 2) / 3) return true;
  }
  return false;
}

/** A leaf from every AZ; each chain handed out verifies at its issue time. Returns how many were issued. */
async function checkIssuance(cluster: PkiSimCluster, step: number): Promise<number> {
  const s = cluster.scheduler;
  let count = 0;
  for (const az of cluster.azs.map((a) => a.name)) {
    const deadline = s.nowUs + ISSUE_BOUND_US;
    let lastError = 'no attempt';
    let done = false;
    for (let i = 0; !done && s.nowUs < deadline; i++) {
      const target = cluster.localLeaderOf(az) ?? cluster.nodesOf(az)[i % 3]!;
      const at = cluster.nowMs();
      const attempt = target.node!.issue({ csr: cluster.csrDer, profile: 'serverLeaf', requester: `years-${step}-${az}-${i}` }).then(
        (leaf) => leaf,
        (e: unknown) => {
          lastError = errorCode(e);
          return null;
        },
      );
      const leaf = await runUntilSettled(cluster, attempt, deadline);
      if (leaf === null || leaf === undefined) {
        await s.runUntil(Math.min(deadline, s.nowUs + 100_000));
        continue;
      }
      done = true;
      count++;
      const broken = chainProblem(leaf.chainPem, at);
      if (broken !== null) cluster.checker.report('renewal', `step ${step}: the chain issued in ${az} at ${new Date(at).toISOString()} does not verify: ${broken}`);
    }
    if (!done) cluster.checker.report('liveness', `step ${step} (${new Date(cluster.nowMs()).toISOString()}): no issuance in ${az}: ${lastError}`);
  }
  return count;
}

/** Null when every certificate of `chainPem` (leaf first, root last) is signed by the next and valid at `atMs`. */
function chainProblem(chainPem: string, atMs: number): string | null {
  const certs = pemBlocks(chainPem).map((b) => new X509Certificate(Buffer.from(b.der)));
  if (certs.length < 4) return `${certs.length} certificates, expected leaf, node ICA, AZ ICA and root`;
  for (const [i, cert] of certs.entries()) {
    if (atMs < Date.parse(cert.validFrom) - 1000 || atMs > Date.parse(cert.validTo)) return `${cert.subject} is not valid at the issue time`;
    const issuer = certs[Math.min(i + 1, certs.length - 1)]!;
    if (!cert.verify(issuer.publicKey)) return `${cert.subject} is not signed by ${issuer.subject}`;
  }
  return null;
}

/** Every registered node's TLS certificate and the AZ ICA above it are valid now (mTLS between nodes). */
async function checkNodeCertificates(cluster: PkiSimCluster, step: number): Promise<void> {
  const store = anyStore(cluster);
  const now = cluster.nowMs();
  const cas = await store.cas();
  for (const node of await store.nodes()) {
    const tls = viewCertificate(node.tlsCertDer);
    const issuer = cas.find((c) => c.issuerId === tls.authorityKeyIdHex);
    const bad =
      now < tls.notBefore.getTime() || now > tls.notAfter.getTime()
        ? `its TLS certificate is not valid (until ${tls.notAfter.toISOString()})`
        : issuer === undefined || issuer.revokedAt !== null || issuer.notAfter <= now
          ? 'the AZ ICA that signed its TLS certificate is not valid'
          : null;
    if (bad !== null) cluster.checker.report('renewal', `step ${step} (${new Date(now).toISOString()}): node ${node.nodeId}: ${bad}`);
  }
}

/** Each successor of an AZ or node ICA was installed no earlier than its predecessor's renewal point. */
async function checkPlannedOverlap(cluster: PkiSimCluster, step: number): Promise<void> {
  const store = anyStore(cluster);
  const nodeLeadSeconds = await nodeIcaLeadSeconds(store);
  const roles = new Map<string, { lead: number; cas: Awaited<ReturnType<typeof store.cas>> }>();
  for (const ca of await store.cas()) {
    if (ca.role === 'root') continue;
    const key = ca.role === 'az' ? `AZ ICA of ${ca.az}` : `node ICA of ${ca.nodeId}`;
    const entry = roles.get(key) ?? { lead: ca.role === 'az' ? AZ_ICA_LEAD_SECONDS : nodeLeadSeconds, cas: [] };
    entry.cas.push(ca);
    roles.set(key, entry);
  }
  for (const [role, { lead, cas }] of roles) {
    cas.sort((a, b) => a.installedAt - b.installedAt || a.index - b.index);
    for (let i = 1; i < cas.length; i++) {
      const prev = viewCertificate(cas[i - 1]!.certDer);
      const planned = renewAtMs({ notBeforeMs: prev.notBefore.getTime(), notAfterMs: prev.notAfter.getTime() }, lead);
      if (cas[i]!.installedAt < planned) {
        cluster.checker.report('renewal', `step ${step}: ${role} got a successor at ${new Date(cas[i]!.installedAt).toISOString()}, before its renewal point ${new Date(planned).toISOString()}`);
      }
    }
  }
}
