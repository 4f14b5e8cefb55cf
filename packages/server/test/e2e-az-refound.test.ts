// End-to-end re-founding of a lost AZ (docs/architecture.md §17, `cluster az refound NAME`) with
// real processes: a dev cluster of 3 AZs × 2 `serve` processes issues in the victim AZ; every node
// of that AZ is killed with -9 and its data directory deleted; `cluster az refound` asked of
// another AZ takes the dead seat out of the global group, withdraws the old nodes and makes a new
// AZ ICA; fresh nodes started on the same addresses found the AZ again (no 307 to its dead VIP)
// and issue and revoke there. Checked with OpenSSL: the new leaf verifies to the root, its CRL
// lists its revocation, the old AZ ICA's CRL lists the old nodes' ICA and TLS certificates, and an
// old leaf revoked afterwards through the global path is answered revoked by OCSP.
// The refusals: ERR_AZ_LIVE while the AZ answers, ERR_AZ_UNKNOWN for a name the cluster lacks.
// Addresses (dev layout, base 200): AZ n on 127.(200+n).0.0/16, global VIP 127.200.10.1.
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pemBlocks, toPem } from '@adrestia/pki-core';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';
import { DEV_PORTS, devAzs, globalVipOf, type DevAz } from '../src/dev/layout.ts';
import { spawnServe, stopProcess, waitReady, type NodeProcess } from '../src/dev/processes.ts';
import { httpCall, jsonOf } from '../src/peer/http-request.ts';
import { runCli, type CliResult } from './helpers/e2e-cli.ts';
import { e2eClient, errorCodeOf, type E2eClient } from './helpers/e2e-http.ts';
import { leafCsrPem, normalSerial, opensslCrlSerials, opensslRevocationVerdict, opensslVerifyLeaf, type IssuedLeaf } from './helpers/e2e-openssl.ts';
import { refuseBusyAddresses } from './helpers/busy-addresses.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 200;
const AZS = devAzs(3, BASE);
const PER_AZ = 2;
const GLOBAL_VIP = globalVipOf(BASE);
const clientAddressOf = (az: DevAz): string => az.localVip.replace(/\.1$/, '.200');
/** Generous bounds for a loaded 2-core machine; nothing asserts on speed. */
const READY_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 120_000;

interface NodeStatus {
  nodeId: string;
  az: string;
  pkiLocalLeader: boolean;
  pkiGlobalLeader: boolean;
  global: { role: string; leaderId: string | null };
}

interface MapView {
  nodes: { nodeId: string; az: string; status: string; addresses: { api: string }; roles: string[] }[];
  leaders: { globalLeader: string | null; localLeaders: Record<string, string> };
}

/** The certificates of `pem` (a chain), parsed. */
const certsOf = (pem: string): X509Certificate[] => pemBlocks(pem).map((b) => new X509Certificate(toPem(b.der)));
const azIcaOf = (leaf: IssuedLeaf, az: string): X509Certificate | undefined => certsOf(leaf.chainPem).find((c) => c.subject.includes(`CN=Adrestia AZ ${az} ICA`));

describe('e2e: cluster az refound — every node of an AZ killed with -9 and wiped, the AZ founded again by fresh nodes (real processes, 3 AZs × 2)', function () {
  this.timeout(420_000);
  let cluster: DevCluster;
  let dir: string;
  let rootPem: string;
  let victim: DevAz;
  let asker: DevAz;
  const clients = new Map<string, E2eClient>();
  const oldLeaves: IssuedLeaf[] = [];
  /** The victim's nodes before the loss: ids and the certificates only they held. */
  const oldNodes: { nodeId: string; tls: X509Certificate }[] = [];
  let failed = false;

  const clientOf = (az: DevAz): E2eClient => clients.get(az.name) as E2eClient;
  const procsOf = (az: DevAz): NodeProcess[] => cluster.procs.filter((p) => p.name.startsWith(`${az.name}-`));
  const statusAt = async (host: string, az: DevAz): Promise<NodeStatus | null> => {
    const r = await clientOf(az).get(host, '/api/v1/status').catch(() => null);
    return r?.status === 200 ? (jsonOf(r) as NodeStatus) : null;
  };
  const mapAt = async (az: DevAz): Promise<MapView | null> => {
    const r = await clientOf(az).get(az.localVip, '/api/v1/clusterMap?since=0').catch(() => null);
    return r?.status === 200 ? (jsonOf(r) as MapView) : null;
  };
  const refound = (name: string, ...extra: string[]): Promise<CliResult> =>
    runCli(['cluster', 'az', 'refound', name, ...extra, '--url', `https://${asker.localVip}:${DEV_PORTS.https}`, '--ca', join(dir, 'root.pem'), '--token-file', cluster.secrets.adminTokenFile, '--from', clientAddressOf(asker)]);

  before(async function () {
    this.timeout(4 * READY_TIMEOUT_MS + 120_000);
    await refuseBusyAddresses(BASE, AZS.length, PER_AZ);
    dir = mkdtempSync(join(tmpdir(), 'adrestia-e2e-refound-'));
    cluster = await startDevCluster({ azCount: AZS.length, perAz: PER_AZ, dir, base: BASE, logLevel: 'info', readyTimeoutMs: READY_TIMEOUT_MS });
    expect(cluster.ok, `nodes ready (logs in ${dir}/logs)`).to.equal(true);
    rootPem = readFileSync(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8');
    writeFileSync(join(dir, 'root.pem'), rootPem);
    const adminToken = readFileSync(cluster.secrets.adminTokenFile, 'utf8').trim();
    for (const az of AZS) clients.set(az.name, e2eClient({ from: clientAddressOf(az), rootPem, adminToken, timeoutMs: 20_000 }));
    for (const az of AZS) await seatVotes(az);
    // The victim is an AZ whose seat does not lead the global group; another AZ is asked.
    const globalLeaderAz = await pollFor('the global leader', async () => {
      for (const az of AZS) if ((await statusAt(az.localVip, az))?.pkiGlobalLeader === true) return az;
      return null;
    }, SETTLE_TIMEOUT_MS);
    victim = AZS.find((a) => a.name !== globalLeaderAz.name && a.name !== 'az1') as DevAz;
    asker = AZS.find((a) => a.name !== victim.name) as DevAz;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    await cluster?.stop();
    if (!failed && cluster?.ok === true) rmSync(dir, { recursive: true, force: true });
  });

  /** The AZ's local leader acts for a seat that votes in the global group (not a learner). */
  async function seatVotes(az: DevAz): Promise<NodeStatus> {
    return pollFor(`${az.name}: its seat votes`, async () => {
      const s = await statusAt(az.localVip, az);
      return s !== null && (s.global.role === 'leader' || s.global.role === 'follower') ? s : null;
    }, SETTLE_TIMEOUT_MS);
  }

  async function issue(az: DevAz, cn: string): Promise<IssuedLeaf> {
    return pollFor(`${cn} issued in ${az.name}`, async () => {
      const r = await clientOf(az).postFollowing(az.localVip, '/api/v1/certificates', { csr: leafCsrPem(cn), profile: 'serverLeaf' }).catch(() => null);
      return r !== null && (r.status === 201 || r.status === 200) ? (jsonOf(r) as IssuedLeaf) : null;
    }, SETTLE_TIMEOUT_MS, 500);
  }

  /** Polls the AZ's nodes for the issuer's CRL until it lists every serial (and has a number above `above`); the CRL as served. */
  async function crlListing(az: DevAz, issuerId: string, caPem: string, serials: readonly string[], above = 0): Promise<Uint8Array> {
    return pollFor(`${issuerId}'s CRL in ${az.name} listing ${serials.join(', ')}`, async () => {
      for (const p of procsOf(az)) {
        const r = await clientOf(az).get(p.host, `/crl/${issuerId}.crl`).catch(() => null);
        if (r?.status !== 200) continue;
        const listed = opensslCrlSerials(dir, r.body, caPem);
        if (serials.every((s) => listed.has(normalSerial(s))) && crlNumberOf(r.body) > above) return new Uint8Array(r.body);
      }
      return null;
    }, SETTLE_TIMEOUT_MS, 1_000);
  }

  /** The serials only the old nodes' identities had: their node ICAs (from the leaves' chains) and TLS certificates. */
  function oldIdentitySerials(): string[] {
    // A chain as issued: the leaf, its node ICA, the AZ ICA, the root.
    const nodeIcas = new Map(oldLeaves.map((l) => [l.issuerId, certsOf(l.chainPem).find((c) => c.subject.includes('CN=Adrestia node')) as X509Certificate]));
    return [...[...nodeIcas.values()].map((c) => c.serialNumber), ...oldNodes.map((n) => n.tls.serialNumber)];
  }
  let oldAzIcaCrlNumber = 0;

  it('issues in the victim AZ; `cluster az refound` refuses it while its nodes answer (ERR_AZ_LIVE) and an unknown AZ (ERR_AZ_UNKNOWN), changing nothing', async () => {
    for (let i = 0; i < 2; i++) oldLeaves.push(await issue(victim, `${victim.name}-before-${i}.example`));
    const map = (await mapAt(victim)) as MapView;
    for (const n of map.nodes.filter((x) => x.az === victim.name)) {
      const p = procsOf(victim).find((q) => n.addresses.api.startsWith(`${q.host}:`)) as NodeProcess;
      oldNodes.push({ nodeId: n.nodeId, tls: new X509Certificate(readFileSync(join(dir, 'data', p.name, 'node-tls.crt'))) });
    }
    expect(oldNodes).to.have.length(PER_AZ);
    const live = await refound(victim.name);
    expect(live.code, live.stdout + live.stderr).to.not.equal(0);
    expect(live.stderr).to.contain('ERR_AZ_LIVE');
    const unknown = await refound('az9');
    expect(unknown.code).to.not.equal(0);
    expect(unknown.stderr).to.contain('ERR_AZ_UNKNOWN');
    // Nothing changed: the victim still issues, its nodes are still active.
    oldLeaves.push(await issue(victim, `${victim.name}-after-refusal.example`));
    const after = (await mapAt(victim)) as MapView;
    expect(after.nodes.filter((n) => n.az === victim.name).map((n) => n.status)).to.deep.equal(oldNodes.map(() => 'active'));
  });

  it('after kill -9 of every node of the AZ and deleting their data, `cluster az refound` asked of another AZ withdraws them and declares the AZ again', async () => {
    for (const p of procsOf(victim)) p.child?.kill('SIGKILL');
    await Promise.all(procsOf(victim).map((p) => stopProcess(p, 5_000)));
    for (const p of procsOf(victim)) rmSync(join(dir, 'data', p.name), { recursive: true, force: true });
    // Until it is re-founded, a fresh node of the AZ would be sent on to the dead local VIP (or told to retry).
    const before = await clientOf(victim).get(GLOBAL_VIP, '/api/v1/status');
    expect(before.status, 'not the "found the AZ" signal').to.not.equal(404);
    // The global leader forgets the AZ's leader and seat within a few health rounds: ERR_AZ_LIVE until then.
    const done = await pollFor('cluster az refound accepted', async () => {
      const r = await refound(victim.name);
      if (r.code === 0) return r;
      if (!/ERR_AZ_LIVE|ERR_NO_GLOBAL_QUORUM|ERR_NOT_LEADER|ERR_TIMEOUT/.test(r.stderr)) throw new Error(`refound failed: ${r.stderr}`);
      return null;
    }, SETTLE_TIMEOUT_MS, 2_000);
    expect(done.stdout).to.contain(`AZ ${victim.name} re-founded`);
    // Discovery's signal to found the AZ (§5.1), not a 307 to its dead local VIP.
    const status = await clientOf(victim).get(GLOBAL_VIP, '/api/v1/status');
    expect([status.status, errorCodeOf(status)]).to.deep.equal([404, 'ERR_AZ_UNKNOWN']);
    for (const n of oldNodes) expect(done.stdout).to.contain(n.nodeId);
    const again = await refound(victim.name);
    expect([again.code, again.stdout.trim()]).to.deep.equal([0, `AZ ${victim.name} already waits for its first node, which founds it`]);
    const map = await pollFor<MapView>('the old nodes listed as revoked', async () => {
      const m = await mapAt(asker);
      return m !== null && oldNodes.every((o) => m.nodes.some((n) => n.nodeId === o.nodeId && n.status === 'revoked')) ? m : null;
    }, SETTLE_TIMEOUT_MS);
    expect(map.nodes.filter((n) => n.az === victim.name && n.status === 'active')).to.deep.equal([]);
    // Before any new node: another AZ serves the old AZ ICA's CRL, published globally, listing them.
    const oldIca = azIcaOf(oldLeaves[0] as IssuedLeaf, victim.name) as X509Certificate;
    const crl = await crlListing(asker, issuerIdOf(oldIca), oldIca.toString() + rootPem, oldIdentitySerials());
    oldAzIcaCrlNumber = crlNumberOf(crl);
    // Above any number the lost AZ could have reached: the seconds since the epoch (RFC 5280 §5.2.3).
    expect(oldAzIcaCrlNumber).to.be.greaterThan(Math.floor(Date.now() / 1000) - 3600);
  });

  let newLeaf: IssuedLeaf;
  it('fresh nodes on the same addresses found the AZ again (not redirected to its dead VIP), their seat votes, and the AZ issues under a new AZ ICA that openssl verifies to the root', async function () {
    this.timeout(3 * READY_TIMEOUT_MS + SETTLE_TIMEOUT_MS);
    const [first, ...rest] = procsOf(victim) as [NodeProcess, ...NodeProcess[]];
    spawnServe(first, () => undefined);
    expect(await waitReady(first.host, DEV_PORTS.http, READY_TIMEOUT_MS, () => first.child !== null), `${first.name} founded the AZ again (log ${first.logPath})`).to.equal(true);
    for (const p of rest) spawnServe(p, () => undefined);
    const ready = await Promise.all(rest.map((p) => waitReady(p.host, DEV_PORTS.http, READY_TIMEOUT_MS, () => p.child !== null)));
    expect(ready, `${rest.map((p) => p.name).join(', ')} joined (logs in ${dir}/logs)`).to.deep.equal(rest.map(() => true));
    const seat = await seatVotes(victim);
    expect(oldNodes.map((n) => n.nodeId)).to.not.include(seat.nodeId);
    newLeaf = await issue(victim, `${victim.name}-refounded.example`);
    expect(opensslVerifyLeaf(dir, rootPem, newLeaf)).to.match(/: OK\s*$/);
    const [newIca, oldIca] = [azIcaOf(newLeaf, victim.name), azIcaOf(oldLeaves[0] as IssuedLeaf, victim.name)];
    expect(newIca, 'the new chain has an AZ ICA').to.not.equal(undefined);
    expect(newIca?.fingerprint256, 'a new AZ ICA signs the new nodes').to.not.equal(oldIca?.fingerprint256);
    // The other AZs still issue: the global group kept its quorum throughout.
    for (const az of AZS.filter((a) => a.name !== victim.name)) expect(opensslVerifyLeaf(dir, rootPem, await issue(az, `${az.name}-after-refound.example`))).to.match(/: OK\s*$/);
  });

  it('revokes the new leaf in the AZ: its node ICA CRL lists it (openssl crl -verify; openssl verify -crl_check: certificate revoked)', async () => {
    const r = await clientOf(victim).postFollowing(victim.localVip, '/api/v1/revocations', { serialHex: newLeaf.serialHex, issuerId: newLeaf.issuerId, reason: 'keyCompromise' });
    expect(r.status, r.body.toString('utf8')).to.equal(200);
    const crl = await crlListing(victim, newLeaf.issuerId, newLeaf.chainPem + rootPem, [newLeaf.serialHex]);
    expect(opensslRevocationVerdict(dir, rootPem, crl, newLeaf)).to.match(/certificate revoked/);
  });

  it("the re-founded AZ's nodes serve the old AZ ICA's CRL listing the old nodes' ICA and TLS certificates, its number never going back", async () => {
    const oldIca = azIcaOf(oldLeaves[0] as IssuedLeaf, victim.name) as X509Certificate;
    const crl = await crlListing(victim, issuerIdOf(oldIca), oldIca.toString() + rootPem, oldIdentitySerials());
    expect(crlNumberOf(crl)).to.be.at.least(oldAzIcaCrlNumber);
  });

  it('an old leaf of the lost AZ still verifies to the root, its revocation asked of another AZ commits globally (a second one is ERR_ALREADY_REVOKED), and OCSP answers it revoked', async () => {
    const old = oldLeaves[1] as IssuedLeaf;
    expect(opensslVerifyLeaf(dir, rootPem, old)).to.match(/: OK\s*$/);
    const body = { serialHex: old.serialHex, issuerId: old.issuerId, reason: 'superseded' };
    const first = await clientOf(asker).postFollowing(asker.localVip, '/api/v1/revocations', body);
    expect(first.status, first.body.toString('utf8')).to.equal(200);
    const second = await clientOf(victim).postFollowing(victim.localVip, '/api/v1/revocations', body);
    expect(errorCodeOf(second)).to.equal('ERR_ALREADY_REVOKED');
    // OCSP (docs/architecture.md §14) answers it in another AZ, signed under the responder
    // certificate the old node ICA delegated before its node was lost; openssl verifies the answer.
    const verdict = await pollFor('OCSP: the old leaf revoked', async () => {
      const out = ocspVerdict(old, await ocspAnswer(asker, old));
      return /leaf\.pem: revoked/.test(out) ? out : null;
    }, SETTLE_TIMEOUT_MS, 1_000);
    expect(verdict).to.include('Response verify OK');
    expect(verdict).to.include('Reason: superseded');
  });

  /** The OCSP request (openssl ocsp -reqout, no nonce) for the leaf, POSTed from inside `az`; the DER answer. */
  async function ocspAnswer(az: DevAz, leaf: IssuedLeaf): Promise<Buffer> {
    const d = ocspFiles(leaf);
    execFileSync('openssl', ['ocsp', '-issuer', d.issuer, '-cert', d.leaf, '-no_nonce', '-reqout', d.req]);
    const r = await httpCall(`http://${az.localVip}:${DEV_PORTS.http}/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: readFileSync(d.req),
      timeoutMs: 10_000,
      maxResponseBytes: 1 << 16,
      localAddress: clientAddressOf(az),
    });
    return r.body;
  }

  /** openssl's reading of an OCSP answer about the leaf, checked up to the root. */
  function ocspVerdict(leaf: IssuedLeaf, answer: Buffer): string {
    const d = ocspFiles(leaf);
    writeFileSync(d.resp, answer);
    const r = spawnSync('openssl', ['ocsp', '-issuer', d.issuer, '-cert', d.leaf, '-respin', d.resp, '-CAfile', d.root, '-verify_other', d.chain, '-no_nonce'], { encoding: 'utf8' });
    return r.stdout + r.stderr;
  }

  function ocspFiles(leaf: IssuedLeaf): { issuer: string; leaf: string; root: string; chain: string; req: string; resp: string } {
    const d = join(dir, `ocsp-${leaf.serialHex}`);
    mkdirSync(d, { recursive: true });
    const files = { issuer: join(d, 'issuer.pem'), leaf: join(d, 'leaf.pem'), root: join(d, 'root.pem'), chain: join(d, 'chain.pem'), req: join(d, 'req.der'), resp: join(d, 'resp.der') };
    writeFileSync(files.issuer, (certsOf(leaf.chainPem).find((c) => c.subject.includes('CN=Adrestia node')) as X509Certificate).toString());
    writeFileSync(files.leaf, leaf.certificatePem);
    writeFileSync(files.root, rootPem);
    writeFileSync(files.chain, leaf.chainPem);
    return files;
  }
});

/** The CRL Number extension (RFC 5280 §5.2.3) of a DER CRL, as openssl prints it. */
function crlNumberOf(der: Uint8Array): number {
  const r = spawnSync('openssl', ['crl', '-inform', 'DER', '-noout', '-crlnumber'], { input: der, encoding: 'utf8' });
  const m = /crlNumber=(?:0x)?([0-9A-Fa-f]+)/.exec(r.stdout);
  if (m?.[1] === undefined) throw new Error(`openssl crl -crlnumber: ${r.stdout}${r.stderr}`);
  return Number.parseInt(m[1], 16);
}

/** A CA's issuer id is its key identifier (pki-core ca-common.ts): the SKI of its certificate, hex. */
function issuerIdOf(ca: X509Certificate): string {
  const der = ca.raw;
  // subjectKeyIdentifier (2.5.29.14): 06 03 55 1d 0e, then OCTET STRING { OCTET STRING keyId }.
  const at = der.indexOf(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0e]));
  if (at < 0) throw new Error('no subjectKeyIdentifier');
  const outer = at + 5;
  const len = der[outer + 3] as number;
  return der.subarray(outer + 4, outer + 4 + len).toString('hex');
}
