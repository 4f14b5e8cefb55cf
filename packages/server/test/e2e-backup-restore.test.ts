// End-to-end backup and restore (docs/architecture.md §17) with real processes: a dev cluster of
// 2 AZs × 2 `serve` processes issues in both AZs and revokes some; `adrestia-pki cluster backup
// --out FILE`; kill -9 of every node and every data directory deleted; then, as the README says,
// `cluster restore FILE --config` on the first node of az1 (a new cluster with the backed-up
// root), the same on the first node of az2 once az1 answers, and plain `serve` for the others.
// Checked: every certificate issued before is found by serial in its AZ and still verifies to the
// root (openssl verify -x509_strict); every revocation is listed in its issuer's CRL as served
// (openssl crl -verify, openssl verify -crl_check says "certificate revoked"); both AZs issue again.
// Addresses (dev layout, base 210): AZ n on 127.(210+n).0.0/16, global VIP 127.210.10.1.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { pemBlocks, toPem } from '@adrestia/pki-core';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';
import { DEV_PORTS, devAzs, type DevAz } from '../src/dev/layout.ts';
import { spawnServe, stopProcess, waitReady, type NodeProcess } from '../src/dev/processes.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { runCli, spawnCliNode } from './helpers/e2e-cli.ts';
import { e2eClient, errorCodeOf, type E2eClient } from './helpers/e2e-http.ts';
import { leafCsrPem, normalSerial, opensslCrlSerials, opensslRevocationVerdict, opensslVerifiedSerials, opensslVerifyLeaf, type IssuedLeaf } from './helpers/e2e-openssl.ts';
import { refuseBusyAddresses } from './helpers/busy-addresses.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 210;
const AZS = devAzs(2, BASE);
const PER_AZ = 2;
const LEAVES_PER_AZ = 3;
const clientAddressOf = (az: DevAz): string => az.localVip.replace(/\.1$/, '.200');
/** Generous bounds for a loaded 2-core machine; nothing asserts on speed. */
const READY_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 90_000;

interface Held extends IssuedLeaf {
  az: string;
  revoked: boolean;
}

describe('e2e: cluster backup, kill -9 of every node and every data directory deleted, cluster restore (real processes, 2 AZs × 2)', function () {
  this.timeout(300_000);
  let cluster: DevCluster;
  let dir: string;
  let rootPem: string;
  let adminTokenFile: string;
  let backupFile: string;
  const clients = new Map<string, E2eClient>();
  const held: Held[] = [];
  let failed = false;

  const clientOf = (az: string): E2eClient => clients.get(az) as E2eClient;
  const procsOf = (az: string): NodeProcess[] => cluster.procs.filter((p) => p.name.startsWith(`${az}-`));
  const dataDirOf = (p: NodeProcess): string => join(dir, 'data', p.name);

  before(async function () {
    this.timeout(3 * READY_TIMEOUT_MS + 60_000);
    await refuseBusyAddresses(BASE, AZS.length, PER_AZ);
    dir = mkdtempSync(join(tmpdir(), 'adrestia-e2e-backup-'));
    cluster = await startDevCluster({ azCount: AZS.length, perAz: PER_AZ, dir, base: BASE, logLevel: 'info', readyTimeoutMs: READY_TIMEOUT_MS });
    expect(cluster.ok, `nodes ready (logs in ${dir}/logs)`).to.equal(true);
    rootPem = readFileSync(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8');
    adminTokenFile = cluster.secrets.adminTokenFile;
    const adminToken = readFileSync(adminTokenFile, 'utf8').trim();
    for (const az of AZS) clients.set(az.name, e2eClient({ from: clientAddressOf(az), rootPem, adminToken, timeoutMs: 20_000 }));
    backupFile = join(dir, 'cluster.backup');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    await cluster?.stop();
    if (!failed && cluster?.ok === true) rmSync(dir, { recursive: true, force: true });
  });

  /** Another cluster on this address base (e.g. a second run of this file) would answer in ours. */
  /** One issuance from inside the AZ at its local VIP, retried through elections. */
  async function issue(az: DevAz, cn: string): Promise<IssuedLeaf> {
    return pollFor(`${cn} issued in ${az.name}`, async () => {
      const r = await clientOf(az.name).postFollowing(az.localVip, '/api/v1/certificates', { csr: leafCsrPem(cn), profile: 'serverLeaf' }).catch(() => null);
      return r !== null && (r.status === 201 || r.status === 200) ? (jsonOf(r) as IssuedLeaf) : null;
    }, SETTLE_TIMEOUT_MS, 500);
  }

  async function revoke(az: DevAz, leaf: IssuedLeaf): Promise<void> {
    await pollFor(`${leaf.serialHex} revoked`, async () => {
      const r = await clientOf(az.name).postFollowing(az.localVip, '/api/v1/revocations', { serialHex: leaf.serialHex, issuerId: leaf.issuerId, reason: 'keyCompromise' }).catch(() => null);
      // ERR_ALREADY_REVOKED: an earlier attempt committed though its answer was lost.
      return r !== null && (r.status === 200 || errorCodeOf(r) === 'ERR_ALREADY_REVOKED') ? true : null;
    }, SETTLE_TIMEOUT_MS, 500);
  }

  /** Polls the AZ's nodes for the issuer's CRL until it lists every given serial; the CRL as served. */
  async function crlListing(az: DevAz, leaves: readonly Held[]): Promise<Uint8Array> {
    const issuerId = (leaves[0] as Held).issuerId;
    return pollFor(`${issuerId}'s CRL in ${az.name} listing ${leaves.length} revocations`, async () => {
      for (const p of procsOf(az.name)) {
        const r = await clientOf(az.name).get(p.host, `/crl/${issuerId}.crl`).catch(() => null);
        if (r?.status !== 200) continue;
        const listed = opensslCrlSerials(dir, r.body, (leaves[0] as Held).chainPem + rootPem);
        if (leaves.every((l) => listed.has(normalSerial(l.serialHex)))) return new Uint8Array(r.body);
      }
      return null;
    }, SETTLE_TIMEOUT_MS, 500);
  }

  function sameCertificate(r: HttpCallResult, leaf: IssuedLeaf): boolean {
    if (r.status !== 200) return false;
    const flat = (pem: string): string => pem.replace(/\s+/g, '');
    return (jsonOf(r) as { certificates: { certificatePem: string }[] }).certificates.some((c) => flat(c.certificatePem) === flat(leaf.certificatePem));
  }

  /** The fingerprint of the AZ ICA (subject CN `Adrestia AZ <az> ICA`) in the leaf's chain. */
  const azIcaOf = (l: IssuedLeaf, az: string): string | undefined =>
    pemBlocks(l.chainPem).map((b) => new X509Certificate(toPem(b.der))).find((c) => c.subject.includes(`CN=Adrestia AZ ${az} ICA`))?.fingerprint256;

  const revokedBy = (az: string): Held[] => held.filter((h) => h.az === az && h.revoked);
  const byIssuer = (leaves: readonly Held[]): Held[][] => [...new Set(leaves.map((l) => l.issuerId))].map((id) => leaves.filter((l) => l.issuerId === id));

  it('issues in both AZs, revokes one of every three, and `cluster backup --out FILE` writes a 0600 backup of both AZs once the CRLs list the revocations', async () => {
    for (const az of AZS) {
      for (let i = 0; i < LEAVES_PER_AZ; i++) held.push({ ...(await issue(az, `${az.name}-before-${i}.example`)), az: az.name, revoked: false });
    }
    for (const h of held.filter((_, i) => i % 3 === 0)) {
      await revoke(AZS.find((a) => a.name === h.az) as DevAz, h);
      h.revoked = true;
    }
    // A backup holds the CRLs published so far (§17): a former node ICA's CRL cannot be signed again.
    for (const az of AZS) for (const group of byIssuer(revokedBy(az.name))) await crlListing(az, group);
    const r = await runCli(['cluster', 'backup', '--out', backupFile, '--url', `https://${AZS[0]!.localVip}:${DEV_PORTS.https}`, '--ca', join(dir, 'data', 'az1-node1', 'cluster-root.crt'),
      '--token-file', adminTokenFile, '--from', clientAddressOf(AZS[0] as DevAz)]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/backup of cluster [0-9a-f-]{36} \(AZs az1, az2\) written to /);
    expect(statSync(backupFile).mode & 0o777).to.equal(0o600);
  });

  it('after kill -9 of every node and deleting every data directory, nothing answers', async () => {
    for (const p of cluster.procs) p.child?.kill('SIGKILL');
    await Promise.all(cluster.procs.map((p) => stopProcess(p, 5_000)));
    await pollFor('every node gone', async () => (cluster.procs.every((p) => p.child === null) ? true : null), 10_000);
    for (const p of cluster.procs) rmSync(dataDirOf(p), { recursive: true, force: true });
    const answering = await Promise.all(cluster.procs.map((p) => httpCall(`http://${p.host}:${DEV_PORTS.http}/healthz`, { timeoutMs: 1_000, maxResponseBytes: 4096 }).then(() => p.host, () => null)));
    expect(answering.filter((h) => h !== null)).to.deep.equal([]);
  });

  it('`cluster restore FILE --config` on the first node of each AZ, then `serve` for the others: every node ready again', async function () {
    this.timeout(4 * READY_TIMEOUT_MS);
    for (const az of AZS) {
      const first = procsOf(az.name)[0] as NodeProcess;
      spawnCliNode(first, ['cluster', 'restore', backupFile, '--config', first.configPath]);
      expect(await waitReady(first.host, DEV_PORTS.http, READY_TIMEOUT_MS, () => first.child !== null), `${first.name} restored and ready (log ${first.logPath})`).to.equal(true);
    }
    const others = cluster.procs.filter((p) => !AZS.some((az) => procsOf(az.name)[0] === p));
    for (const p of others) spawnServe(p, () => undefined);
    const ready = await Promise.all(others.map((p) => waitReady(p.host, DEV_PORTS.http, READY_TIMEOUT_MS, () => p.child !== null)));
    expect(ready, `${others.map((p) => p.name).join(', ')} ready (logs in ${dir}/logs)`).to.deep.equal(others.map(() => true));
    expect(readFileSync(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8').replace(/\s+/g, ''), 'the backed-up root').to.equal(rootPem.replace(/\s+/g, ''));
  });

  it('finds every certificate issued before by serial in its AZ, and openssl verify -x509_strict still accepts each chain', async () => {
    const missing: string[] = [];
    for (const h of held) {
      const az = AZS.find((a) => a.name === h.az) as DevAz;
      const found = await pollFor(`${h.serialHex} found in ${h.az}`, async () => {
        const r = await clientOf(az.name).getSecure(az.localVip, `/api/v1/certificates/${h.serialHex}`).catch(() => null);
        return r !== null && sameCertificate(r, h) ? true : null;
      }, SETTLE_TIMEOUT_MS, 500).catch(() => false);
      if (!found) missing.push(`${h.az} ${h.serialHex}`);
    }
    expect(missing, 'certificates not found by serial after the restore').to.deep.equal([]);
    const verified = opensslVerifiedSerials(dir, rootPem, held);
    expect(held.filter((h) => !verified.has(h.serialHex)).map((h) => h.serialHex), 'refused by openssl verify').to.deep.equal([]);
  });

  it('lists every revocation in its issuer CRL as served after the restore (openssl crl -verify; openssl verify -crl_check: certificate revoked)', async () => {
    for (const az of AZS) {
      for (const group of byIssuer(revokedBy(az.name))) {
        const crl = await crlListing(az, group);
        for (const leaf of group) expect(opensslRevocationVerdict(dir, rootPem, crl, leaf), leaf.serialHex).to.match(/certificate revoked/);
      }
    }
    expect(held.filter((h) => h.revoked)).to.have.length.greaterThan(1);
  });

  it('issues and revokes again in both AZs, under new node ICAs chained to the backed-up AZ ICAs', async () => {
    for (const az of AZS) {
      const before = held.find((h) => h.az === az.name) as Held;
      const leaf = await issue(az, `${az.name}-after.example`);
      expect(opensslVerifyLeaf(dir, rootPem, leaf)).to.match(/: OK\s*$/);
      expect(leaf.issuerId, 'a new node ICA signs').to.not.equal(before.issuerId);
      // The AZ ICA in the new chain is the one that signed the node ICAs before.
      expect(azIcaOf(leaf, az.name)).to.be.a('string').and.to.equal(azIcaOf(before, az.name));
      await revoke(az, leaf);
      const crl = await crlListing(az, [{ ...leaf, az: az.name, revoked: true }]);
      expect(opensslRevocationVerdict(dir, rootPem, crl, leaf)).to.match(/certificate revoked/);
    }
  });
});
