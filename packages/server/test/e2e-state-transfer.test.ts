// End-to-end: state transfer between real serve processes (docs/architecture.md §4.7). Every node
// takes a local snapshot every 16 applied entries, and a snapshot only names the state on
// LevelDB, so a follower stopped while the AZ commits far more than that comes back behind every
// peer's compacted log: it must fetch the state from a peer over the mesh (group `state`) and
// then serve what was issued and revoked while it was away. Addresses: 127.171.0.0/16 (dev plan, base 170).
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';
import { stopProcess, type NodeProcess } from '../src/dev/processes.ts';
import { jsonOf } from '../src/peer/http-request.ts';
import { e2eClient, type E2eClient } from './helpers/e2e-http.ts';
import { leafCsrPem as csr, normalSerial, opensslCrlSerials, type IssuedLeaf as Issued } from './helpers/e2e-openssl.ts';
import { pollFor } from './helpers/wait.ts';

const BASE = 170;
const LOCAL_VIP = '127.171.0.1';
const CLIENT = '127.171.0.200';
const SNAPSHOT_EVERY_ENTRIES = 16;
/** Issued while the follower is away: several snapshots' worth of local entries. */
const ISSUED_AWAY = 5 * SNAPSHOT_EVERY_ENTRIES;

interface Status {
  nodeId: string;
  ready: boolean;
  pkiLocalLeader: boolean;
  pkiGlobalLeader: boolean;
  local: { leaderId: string | null };
}

describe('e2e: a follower behind every compacted log fetches the state from a peer (real serve processes)', function () {
  this.timeout(240_000);
  let cluster: DevCluster;
  let dir: string;
  let rootPem: string;
  let client: E2eClient;
  let failed = false;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adrestia-e2e-transfer-'));
    cluster = await startDevCluster({ azCount: 1, perAz: 3, dir, base: BASE, logLevel: 'info', readyTimeoutMs: 60_000, snapshotEveryEntries: SNAPSHOT_EVERY_ENTRIES });
    expect(cluster.ok, `nodes ready (logs in ${dir}/logs)`).to.equal(true);
    rootPem = readFileSync(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8');
    client = e2eClient({ from: CLIENT, rootPem, adminToken: readFileSync(cluster.secrets.adminTokenFile, 'utf8').trim() });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    await cluster?.stop();
    if (!failed && cluster?.ok === true) rmSync(dir, { recursive: true, force: true });
  });

  const status = async (host: string): Promise<Status | null> => {
    const r = await client.get(host, '/api/v1/status').catch(() => null);
    return r?.status === 200 ? (jsonOf(r) as Status) : null;
  };

  const issue = async (name: string): Promise<Issued> => {
    const r = await pollFor(`issuing ${name}`, async () => {
      const answer = await client.post(LOCAL_VIP, '/api/v1/certificates', { csr: csr(name), profile: 'serverLeaf' }).catch(() => null);
      return answer?.status === 201 || answer?.status === 200 ? answer : null;
    }, 30_000);
    return jsonOf(r) as Issued;
  };

  it('a follower stopped across several local snapshots installs a peer\'s state and serves what it missed, CRL included', async () => {
    // A follower of both tiers: stopping it moves no VIP and no leadership.
    const follower = await pollFor('a follower of both tiers', async () => {
      for (const p of cluster.procs) {
        const s = await status(p.host);
        if (s?.ready === true && !s.pkiLocalLeader && !s.pkiGlobalLeader) return p;
      }
      return null;
    }, 30_000);
    await stopProcess(follower, 10_000);

    const missed: Issued[] = [];
    for (let i = 0; i < ISSUED_AWAY; i++) missed.push(await issue(`away-${i}.example`));
    const victim = missed[3]!;
    const revoked = await client.post(LOCAL_VIP, '/api/v1/revocations', { serialHex: victim.serialHex, reason: 'keyCompromise' });
    expect(revoked.status, revoked.body.toString()).to.equal(200);

    // Joining, each follower already fetched the founder's state once: only what follows counts.
    const logBefore = readFileSync(follower.logPath, 'utf8').length;
    cluster.restart(follower);
    await pollFor('the follower ready again', async () => ((await status(follower.host))?.ready === true ? true : null), 120_000);
    const log = await pollFor('the follower installing a peer\'s state', async () => {
      const text = readFileSync(follower.logPath, 'utf8').slice(logBefore);
      return /state transfer: installed the state at seq \d+/.test(text) ? text : null;
    }, 60_000);
    expect(log, 'the fetch was started by a descriptor snapshot above its state').to.match(/state transfer: the local snapshot at index \d+ names seq \d+, the state on disk holds \d+/);

    // Every certificate issued while it was away, read from the follower itself (its reads wait
    // for a read index from the leader: the first may come before it follows one).
    await pollFor('the follower answering reads', async () => ((await client.getSecure(follower.host, `/api/v1/certificates/${missed[0]!.serialHex}`)).status === 200 ? true : null), 30_000);
    for (const leaf of missed) {
      const r = await client.getSecure(follower.host, `/api/v1/certificates/${leaf.serialHex}`);
      expect(r.status, `certificate ${leaf.serialHex} on the restarted follower: ${r.body.toString()}`).to.equal(200);
    }
    // The revocation too: the follower's copy of the issuing node ICA's CRL lists it.
    await expectCrlListing(follower, victim);
  });

  async function expectCrlListing(p: NodeProcess, leaf: Issued): Promise<void> {
    await pollFor(`${p.name}'s CRL listing ${leaf.serialHex}`, async () => {
      const r = await client.get(p.host, `/crl/${leaf.issuerId}.crl`);
      return r.status === 200 && opensslCrlSerials(dir, r.body, leaf.chainPem + rootPem).has(normalSerial(leaf.serialHex)) ? true : null;
    }, 60_000, 250);
  }
});
