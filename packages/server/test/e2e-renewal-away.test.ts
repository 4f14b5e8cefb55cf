// End-to-end with real processes (dev cluster, 1 AZ × 3 `serve`): a node's TLS renewal is
// committed while the node is away — stopped (SIGSTOP) after its CSR reached the local leader,
// then killed — and the whole AZ is restarted, so no peer keeps the replaced certificate's grace
// (transport/peer-pins.ts PREDECESSOR_GRACE_MS): every peer pins only the new certificate, which
// the node has never applied. The node takes it up from its local VIP (serve/node-tls-follower.ts,
// docs/architecture.md §9.3), is admitted on the mesh again, and applies the log. The renewal
// request is sent as the node's own maintenance sends it (node/ca/node-renewal.ts): a durable
// pending key in its data directory, its CSR to the local leader over the peer endpoint with the
// node's own TLS certificate. Addresses (dev layout, base 160): AZ 1 on 127.161.0.0/16.
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { buildCsr, fromPem, toPem } from '@adrestia/pki-core';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';
import { DEV_PORTS, devAzs } from '../src/dev/layout.ts';
import { stopProcess, waitReady, type NodeProcess } from '../src/dev/processes.ts';
import { HttpsPeerClient } from '../src/peer/https-peer-client.ts';
import { httpCall, jsonOf } from '../src/peer/http-request.ts';
import { e2eClient } from './helpers/e2e-http.ts';
import { leafCsrPem } from './helpers/e2e-openssl.ts';
import { refuseBusyAddresses } from './helpers/busy-addresses.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 160;
const AZ = devAzs(1, BASE)[0]!;
const CLIENT = AZ.localVip.replace(/\.1$/, '.200');
const READY_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 90_000;

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

describe('e2e: a TLS renewal committed while its node was away, then the AZ restarted: the node takes it up from the VIP (real processes)', function () {
  this.timeout(300_000);
  let cluster: DevCluster;
  let dir: string;
  let failed = false;

  before(async function () {
    await refuseBusyAddresses(BASE, 1, 3);
    dir = mkdtempSync(join(tmpdir(), 'adrestia-e2e-away-'));
    cluster = await startDevCluster({ azCount: 1, perAz: 3, dir, base: BASE, logLevel: 'info', readyTimeoutMs: READY_TIMEOUT_MS });
    expect(cluster.ok, `nodes ready (logs in ${dir}/logs)`).to.equal(true);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    for (const p of cluster?.procs ?? []) p.child?.kill('SIGCONT');
    await cluster?.stop();
    if (!failed && dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const dataDirOf = (p: NodeProcess): string => join(dir, 'data', p.name);
  const get = (host: string, path: string) => httpCall(`http://${host}:${DEV_PORTS.http}${path}`, { timeoutMs: 5_000, maxResponseBytes: 1 << 20, localAddress: CLIENT });
  const registeredOn = async (host: string, nodeId: string): Promise<string | null> => {
    const r = await get(host, `/api/v1/nodes/${nodeId}`).catch(() => null);
    return r?.status === 200 ? (jsonOf(r) as { tlsCertificatePem: string }).tlsCertificatePem : null;
  };

  it('the node serves the renewed certificate, applies the log again, and the AZ issues', async function () {
    const nodes = (jsonOf(await get(AZ.localVip, '/api/v1/nodes')) as { nodes: { nodeId: string; addresses: { api: string } }[] }).nodes;
    const idOf = (p: NodeProcess): string => nodes.find((n) => n.addresses.api.startsWith(`${p.host}:`))!.nodeId;
    const leaderId = await pollFor('a local leader', async () => ((jsonOf(await get(AZ.localVip, '/api/v1/status')) as { local: { leaderId: string | null } }).local.leaderId), SETTLE_TIMEOUT_MS, 500);
    const away = cluster.procs.find((p) => idOf(p) !== leaderId)!;
    const awayId = idOf(away);
    const before = readFileSync(join(dataDirOf(away), 'node-tls.crt'), 'utf8');

    // The node stops right after its maintenance made the pending key and sent the CSR.
    away.child!.kill('SIGSTOP');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dataDirOf(away), 'node-tls.next.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const tls = { key: readFileSync(join(dataDirOf(away), 'node-tls.key'), 'utf8'), cert: before, ca: readFileSync(join(dataDirOf(away), 'cluster-root.crt'), 'utf8') };
    const asAway = new HttpsPeerClient({
      apiAddressOf: (id) => nodes.find((n) => n.nodeId === id)?.addresses.api,
      tls: () => tls,
      bootstrap: null,
      // The test trusts the dev cluster's nodes; what is under test is the other side's pins.
      pins: { admitMeshPeer: () => undefined, requireExpiredPinned: () => undefined },
      localAddress: away.host,
      timeoutMs: 20_000,
    });
    const answer = await asAway.call(leaderId, { kind: 'renewNode', nodeId: awayId, tlsCsrDer: buildCsr({ subject: `CN=${awayId},OU=${AZ.name}`, privateKey }) });
    asAway.close();
    if (answer.kind !== 'registered') throw new Error(`renewNode answered ${JSON.stringify(answer)}`);
    const renewedPem = toPem(answer.tlsCertDer);
    const leader = cluster.procs.find((p) => idOf(p) === leaderId)!;
    await pollFor('the leader registers the renewal', async () => ((await registeredOn(leader.host, awayId)) === renewedPem ? true : null), SETTLE_TIMEOUT_MS, 200);
    expect(fingerprintOf(readFileSync(join(dataDirOf(away), 'node-tls.crt'), 'utf8')), 'the stopped node has not taken it up').to.equal(fingerprintOf(before));

    // Killed where it stands, then the whole AZ restarted: no peer remembers the replaced certificate.
    away.child!.kill('SIGKILL');
    await pollFor('the away node gone', async () => (away.child === null ? true : null), 10_000, 100);
    await Promise.all(cluster.procs.map((p) => stopProcess(p, 10_000)));
    for (const p of cluster.procs) cluster.restart(p);
    for (const p of cluster.procs) {
      expect(await waitReady(p.host, DEV_PORTS.http, READY_TIMEOUT_MS, () => p.child !== null), `${p.name} ready (logs in ${dir}/logs)`).to.equal(true);
    }

    await pollFor(`${away.name} serving the renewed certificate`, async () => (fingerprintOf(readFileSync(join(dataDirOf(away), 'node-tls.crt'), 'utf8')) === fingerprintOf(renewedPem) ? true : null), SETTLE_TIMEOUT_MS, 500);
    const keyPem = readFileSync(join(dataDirOf(away), 'node-tls.key'), 'utf8');
    expect(createHash('sha256').update(fromPem(keyPem, 'PRIVATE KEY')).digest('hex')).to.equal(createHash('sha256').update(fromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'PRIVATE KEY')).digest('hex'));
    // Its own state names the renewal: the log reached it over the mesh, which admits it again.
    await pollFor(`${away.name} applied its renewal`, async () => ((await registeredOn(away.host, awayId)) === renewedPem ? true : null), SETTLE_TIMEOUT_MS, 500);
    const root = tls.ca;
    const client = e2eClient({ from: CLIENT, rootPem: root, adminToken: readFileSync(cluster.secrets.adminTokenFile, 'utf8').trim() });
    await pollFor('an issuance in the AZ', async () => {
      const r = await client.postFollowing(AZ.localVip, '/api/v1/certificates', { csr: leafCsrPem('away.example'), profile: 'serverLeaf' }).catch(() => null);
      return r !== null && r.status === 201 ? true : null;
    }, SETTLE_TIMEOUT_MS, 500);
  });
});
