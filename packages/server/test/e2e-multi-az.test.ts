// End-to-end across AZs (docs/spec.md §2.7, §4, §11): 3 AZs × 3 real `serve` processes on loopback,
// clients inside every AZ issuing and revoking over HTTPS without pause; kill -9 of the local
// leader of an AZ that does not hold the global role, then kill -9 of the global leader. Checked:
// each AZ elects again, the VIPs move to the new leaders (and never have two holders), service
// resumes, and every acknowledged certificate and revocation is still there, as OpenSSL sees it.
// Addresses (dev layout, base 90): AZ n on 127.(90+n).0.0/16, global VIP 127.90.10.1.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';
import { devAzs, globalVipOf, type DevAz } from '../src/dev/layout.ts';
import type { NodeProcess } from '../src/dev/processes.ts';
import { jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { e2eClient, errorCodeOf, vipHolder, type E2eClient } from './helpers/e2e-http.ts';
import { leafCsrPem, normalSerial, opensslCrlSerials, opensslRevocationVerdict, opensslVerifiedSerials, type IssuedLeaf } from './helpers/e2e-openssl.ts';
import { vipTimeline, type VipKill } from './helpers/vip-timeline.ts';
import { refuseBusyAddresses } from './helpers/busy-addresses.ts';
import { pollFor, sleep } from './helpers/wait.ts';

const BASE = 90;
const AZS = devAzs(3, BASE);
const PER_AZ = 3;
const GLOBAL_VIP = globalVipOf(BASE);
/** In no AZ: the VIP monitor speaks from here (it only needs the TLS handshake). */
const OUTSIDER = '127.99.0.200';
const clientAddressOf = (az: DevAz): string => az.localVip.replace(/\.1$/, '.200');
/** Generous bounds for a loaded 2-core machine; nothing asserts on speed. */
const FAILOVER_TIMEOUT_MS = 60_000;
const MONITOR_INTERVAL_MS = 250;
const READY_TIMEOUT_MS = 40_000;

interface NodeStatus {
  nodeId: string;
  az: string;
  pkiLocalLeader: boolean;
  pkiGlobalLeader: boolean;
  ready: boolean;
  local: { role: string; term: number; leaderId: string | null };
  global: { role: string; term: number; leaderId: string | null };
}

interface MapView {
  nodes: { nodeId: string; az: string; addresses: { api: string }; roles: string[] }[];
  leaders: { globalLeader: string | null; localLeaders: Record<string, string> };
}

interface ClusterNode {
  nodeId: string;
  az: DevAz;
  host: string;
  proc: NodeProcess;
  killedAtMs: number | null;
}

interface Acknowledged extends IssuedLeaf {
  az: string;
  /** When the request that got it was sent, and when its answer came. */
  sentAtMs: number;
  atMs: number;
}

interface VipObservation {
  vip: string;
  atMs: number;
  /** The holder, or null while nobody listens. */
  nodeId: string | null;
}

/** The steady load: who issued and revoked what, acknowledged when. */
interface Load {
  stopped: boolean;
  issued: Acknowledged[];
  revoked: { leaf: Acknowledged; sentAtMs: number; atMs: number }[];
  loops: Promise<void>[];
}

describe('e2e: 3 AZs × 3 real serve processes, kill -9 of a local leader then of the global leader under issuance and revocation load', function () {
  this.timeout(120_000);
  let cluster: DevCluster;
  let dir: string;
  let rootPem: string;
  const clients = new Map<string, E2eClient>();
  const nodes = new Map<string, ClusterNode>();
  const load: Load = { stopped: false, issued: [], revoked: [], loops: [] };
  const observations: VipObservation[] = [];
  let monitor: Promise<void> = Promise.resolve();
  let monitoring = true;
  const killed: VipKill[] = [];
  let failed = false;

  const clientOf = (az: string): E2eClient => clients.get(az) as E2eClient;
  const azNamed = (name: string): DevAz => AZS.find((a) => a.name === name) as DevAz;
  const alive = (az?: string): ClusterNode[] => [...nodes.values()].filter((n) => n.killedAtMs === null && (az === undefined || n.az.name === az));
  const statusAt = async (host: string, az: string): Promise<NodeStatus | null> => {
    const r = await clientOf(az).get(host, '/api/v1/status').catch(() => null);
    return r?.status === 200 ? (jsonOf(r) as NodeStatus) : null;
  };

  before(async function () {
    // Above startDevCluster's worst case (each AZ founder, then the joiners, up to READY_TIMEOUT_MS
    // each), so a hung start-up still returns the cluster and `after` stops every process.
    this.timeout((AZS.length + 1) * READY_TIMEOUT_MS + 60_000);
    await refuseBusyAddresses(BASE, AZS.length, PER_AZ);
    dir = mkdtempSync(join(tmpdir(), 'adrestia-e2e-multi-az-'));
    const startedMs = Date.now();
    // `info` keeps the VIP transitions in the logs: the holder timeline is read from them.
    cluster = await startDevCluster({ azCount: AZS.length, perAz: PER_AZ, dir, base: BASE, logLevel: 'info', readyTimeoutMs: READY_TIMEOUT_MS });
    expect(cluster.ok, `nodes ready (logs in ${dir}/logs)`).to.equal(true);
    rootPem = readFileSync(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8');
    const adminToken = readFileSync(cluster.secrets.adminTokenFile, 'utf8').trim();
    for (const az of AZS) clients.set(az.name, e2eClient({ from: clientAddressOf(az), rootPem, adminToken, timeoutMs: 15_000 }));
    await waitForFullGroups();
    console.log(`      start-up of ${AZS.length}×${PER_AZ} nodes until every local group has ${PER_AZ} voters and every seat votes: ${Date.now() - startedMs} ms`);
    monitor = monitorVips();
    for (const az of AZS) load.loops.push(issueLoop(az), revokeLoop(az));
    await pollFor('issuance in every AZ', async () => (AZS.every((az) => load.issued.some((a) => a.az === az.name)) ? true : null), 30_000);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    load.stopped = true;
    monitoring = false;
    await Promise.all([...load.loops, monitor]);
    await cluster?.stop();
    // Logs stay for a failed run (their path is in the failure message).
    if (!failed && cluster?.ok === true) rmSync(dir, { recursive: true, force: true });
  });

  /** Another cluster on this address base (e.g. a second run of this file) would answer in ours. */
  /** Every AZ's local group has all its nodes as voters, and each seat is a voter of the global group. */
  async function waitForFullGroups(): Promise<void> {
    for (const az of AZS) {
      const map = await pollFor(`${az.name}: ${PER_AZ} voters`, async () => {
        const r = await clientOf(az.name).get(az.localVip, '/api/v1/clusterMap?since=0').catch(() => null);
        const m = r?.status === 200 ? (jsonOf(r) as MapView) : null;
        const own = m?.nodes.filter((n) => n.az === az.name) ?? [];
        return own.length === PER_AZ && own.every((n) => n.roles.includes('voter')) && m?.leaders.localLeaders[az.name] !== undefined ? m : null;
      }, 60_000);
      for (const n of map.nodes.filter((x) => x.az === az.name)) {
        const host = n.addresses.api.split(':')[0] as string;
        nodes.set(n.nodeId, { nodeId: n.nodeId, az, host, proc: cluster.procs.find((p) => p.host === host) as NodeProcess, killedAtMs: null });
      }
      // The local leader acts for the seat: a learner seat would not count towards a global quorum.
      await pollFor(`${az.name}: its seat votes`, async () => {
        const s = await statusAt(az.localVip, az.name);
        return s !== null && (s.global.role === 'leader' || s.global.role === 'follower') ? s : null;
      }, 60_000);
    }
  }

  /** Issuance without pause from inside the AZ: every other request at the global VIP (307 to the local VIP unless it leads). */
  async function issueLoop(az: DevAz): Promise<void> {
    const client = clientOf(az.name);
    for (let i = 0; !load.stopped; i++) {
      const host = i % 2 === 0 ? az.localVip : GLOBAL_VIP;
      const sentAtMs = Date.now();
      const r = await client.postFollowing(host, '/api/v1/certificates', { csr: leafCsrPem(`${az.name}-${i}.example`), profile: 'serverLeaf' }).catch(() => null);
      if (r !== null && (r.status === 201 || r.status === 200)) load.issued.push({ ...(jsonOf(r) as IssuedLeaf), az: az.name, sentAtMs, atMs: Date.now() });
      else await sleep(100);
    }
  }

  /** Revokes every third certificate its AZ got, retrying each until acknowledged (after the global commit). */
  async function revokeLoop(az: DevAz): Promise<void> {
    const client = clientOf(az.name);
    let next = 0;
    while (!load.stopped) {
      const mine = load.issued.filter((a) => a.az === az.name);
      const leaf = mine[next * 3];
      if (leaf === undefined) {
        await sleep(100);
        continue;
      }
      const sentAtMs = Date.now();
      const r = await client.postFollowing(az.localVip, '/api/v1/revocations', { serialHex: leaf.serialHex, issuerId: leaf.issuerId, reason: 'keyCompromise' }).catch(() => null);
      // ERR_ALREADY_REVOKED: an earlier attempt committed though its answer was lost.
      if (r !== null && (r.status === 200 || errorCodeOf(r) === 'ERR_ALREADY_REVOKED')) {
        load.revoked.push({ leaf, sentAtMs, atMs: Date.now() });
        next++;
      } else {
        await sleep(100);
      }
    }
  }

  /** Samples who holds each VIP: the node whose certificate answers there (vipHolder). */
  async function monitorVips(): Promise<void> {
    while (monitoring) {
      const atMs = Date.now();
      await Promise.all(
        [GLOBAL_VIP, ...AZS.map((az) => az.localVip)].map(async (vip) => {
          observations.push({ vip, atMs, nodeId: await vipHolder(vip, OUTSIDER, rootPem) });
        }),
      );
      await sleep(MONITOR_INTERVAL_MS);
    }
  }

  function kill(node: ClusterNode): number {
    const atMs = Date.now();
    node.killedAtMs = atMs;
    killed.push({ nodeId: node.nodeId, atMs });
    node.proc.child?.kill('SIGKILL');
    return atMs;
  }

  async function globalLeader(): Promise<ClusterNode> {
    return pollFor('one global leader', async () => {
      for (const n of alive()) if ((await statusAt(n.host, n.az.name))?.pkiGlobalLeader === true) return n;
      return null;
    }, FAILOVER_TIMEOUT_MS, 100);
  }

  async function newLocalLeader(az: DevAz, old: string): Promise<ClusterNode> {
    return pollFor(`a new local leader in ${az.name}`, async () => {
      for (const n of alive(az.name)) {
        const s = await statusAt(n.host, az.name);
        if (s?.pkiLocalLeader === true && s.nodeId !== old) return n;
      }
      return null;
    }, FAILOVER_TIMEOUT_MS, 100);
  }

  /** Polls the VIP (as a client of `az`) until its status names `nodeId`; the time it did. */
  async function vipAnswersFrom(vip: string, az: DevAz, nodeId: string): Promise<number> {
    await pollFor(`${vip} answering from ${nodeId}`, async () => ((await statusAt(vip, az.name))?.nodeId === nodeId ? true : null), FAILOVER_TIMEOUT_MS, 100);
    return Date.now();
  }

  /** The first certificate of the AZ asked for after `atMs` (an answer already under way at a kill does not count). */
  const firstIssuedAfter = (az: string, atMs: number): Promise<Acknowledged> =>
    pollFor(`issuance in ${az} after ${atMs}`, async () => load.issued.find((a) => a.az === az && a.sentAtMs > atMs) ?? null, FAILOVER_TIMEOUT_MS, 50);

  const figure = (what: string, ms: number): void => console.log(`      ${what}: ${ms} ms`);

  let globalBefore: ClusterNode;
  /** Per VIP, the holders the steps established, in order: what both views of the VIPs must show. */
  const expectedHolders = new Map<string, string[]>();
  const expectHolders = (vip: string, ...ids: string[]): void => {
    expectedHolders.set(vip, [...(expectedHolders.get(vip) ?? []), ...ids]);
  };

  it('step 1: kill -9 of the local leader of an AZ without the global role — it elects again, its VIP moves, its issuance resumes, the global leader stays', async () => {
    globalBefore = await globalLeader();
    const az = AZS.find((a) => a.name !== globalBefore.az.name) as DevAz;
    const before = (await statusAt(az.localVip, az.name)) as NodeStatus;
    const victim = nodes.get(before.nodeId) as ClusterNode;
    expect(victim.az.name).to.equal(az.name);
    expectHolders(GLOBAL_VIP, globalBefore.nodeId);
    for (const a of AZS) expectHolders(a.localVip, ((await statusAt(a.localVip, a.name)) as NodeStatus).nodeId);
    await pollFor('load acknowledged before the kill', async () => (load.issued.filter((a) => a.az === az.name).length >= 3 && load.revoked.length >= 1 ? true : null), 30_000);
    const killedAtMs = kill(victim);
    const successor = await newLocalLeader(az, victim.nodeId);
    const electedMs = Date.now();
    const vipMs = await vipAnswersFrom(az.localVip, az, successor.nodeId);
    expectHolders(az.localVip, successor.nodeId);
    const issued = await firstIssuedAfter(az.name, killedAtMs);
    figure(`${az.name} local leader killed → new local leader seen`, electedMs - killedAtMs);
    figure(`${az.name} local leader killed → local VIP answers from it`, vipMs - killedAtMs);
    figure(`${az.name} local leader killed → first acknowledged issuance in ${az.name}`, issued.atMs - killedAtMs);
    const survivors = await Promise.all(alive(az.name).map((n) => statusAt(n.host, az.name)));
    for (const s of survivors) expect(s?.local.leaderId, 'every survivor follows the new local leader').to.equal(successor.nodeId);
    expect((survivors[0] as NodeStatus).local.term).to.be.greaterThan(before.local.term);
    expect((await globalLeader()).nodeId, 'the global leader is unchanged').to.equal(globalBefore.nodeId);
  });

  it('step 2: kill -9 of the global leader — the global role moves to another live node, the global VIP answers from it, revocations commit again', async () => {
    const az = globalBefore.az;
    const killedAtMs = kill(globalBefore);
    const successor = await globalLeader();
    const electedMs = Date.now();
    expect(successor.nodeId).to.not.equal(globalBefore.nodeId);
    expect(successor.killedAtMs).to.equal(null);
    const localSuccessor = await newLocalLeader(az, globalBefore.nodeId);
    const vipMs = await vipAnswersFrom(GLOBAL_VIP, successor.az, successor.nodeId);
    expectHolders(GLOBAL_VIP, successor.nodeId);
    expectHolders(az.localVip, localSuccessor.nodeId);
    const revocation = await pollFor('a revocation asked for after the kill and acknowledged', async () => load.revoked.find((r) => r.sentAtMs > killedAtMs) ?? null, FAILOVER_TIMEOUT_MS, 50);
    const issued = await firstIssuedAfter(az.name, killedAtMs);
    figure(`global leader (${az.name}) killed → new global leader seen (${successor.az.name})`, electedMs - killedAtMs);
    figure(`global leader killed → global VIP answers from it`, vipMs - killedAtMs);
    figure(`global leader killed → first acknowledged revocation after it`, revocation.atMs - killedAtMs);
    figure(`global leader killed → first acknowledged issuance in ${az.name}`, issued.atMs - killedAtMs);
    expect((await statusAt(az.localVip, az.name))?.nodeId, `${az.name}'s local VIP moved`).to.equal(localSuccessor.nodeId);
    // A client of an AZ without the global role is sent on to its own AZ (docs/spec.md §4.2).
    const other = AZS.find((a) => a.name !== successor.az.name) as DevAz;
    const redirected = await clientOf(other.name).get(GLOBAL_VIP, '/api/v1/status');
    expect([redirected.status, redirected.headers.location]).to.deep.equal([307, `http://${other.localVip}:8080/api/v1/status`]);
  });

  it('with the load stopped: every acknowledged certificate is found by serial in its AZ and openssl verify -x509_strict accepts its chain', async () => {
    await stopLoad();
    console.log(`      acknowledged: ${load.issued.length} certificates (${AZS.map((az) => `${az.name} ${load.issued.filter((a) => a.az === az.name).length}`).join(', ')}), ${load.revoked.length} revocations`);
    expect(load.issued.length).to.be.greaterThan(0);
    const missing: string[] = [];
    for (const az of AZS) {
      const mine = load.issued.filter((a) => a.az === az.name);
      const host = (alive(az.name)[0] as ClusterNode).host;
      await inBatches(mine, 16, async (a) => {
        const r = await clientOf(az.name).getSecure(host, `/api/v1/certificates/${a.serialHex}`);
        if (!sameCertificate(r, a)) missing.push(`${az.name} ${a.serialHex} (${r.status})`);
      });
    }
    expect(missing, 'acknowledged certificates not found by serial').to.deep.equal([]);
    const verified = opensslVerifiedSerials(dir, rootPem, load.issued);
    expect(load.issued.filter((a) => !verified.has(a.serialHex)).map((a) => a.serialHex), 'refused by openssl verify').to.deep.equal([]);
  });

  it('the killed nodes rejoin as followers, and every acknowledged revocation is listed in its issuer CRL over HTTP (openssl crl -verify)', async () => {
    // Only a node holds its node ICA key (docs/architecture.md §4.2), so a killed issuer's CRL is
    // refreshed when it returns.
    monitoring = false;
    await monitor;
    for (const k of killed) cluster.restart((nodes.get(k.nodeId) as ClusterNode).proc);
    for (const k of killed) {
      const node = nodes.get(k.nodeId) as ClusterNode;
      await pollFor(`${node.proc.name} back, following its AZ's local leader`, async () => {
        const [s, vip] = await Promise.all([statusAt(node.host, node.az.name), statusAt(node.az.localVip, node.az.name)]);
        return s?.ready === true && !s.pkiLocalLeader && s.local.leaderId !== null && s.local.leaderId === vip?.nodeId ? s : null;
      }, FAILOVER_TIMEOUT_MS);
      node.killedAtMs = null;
    }
    const byIssuer = new Map<string, Acknowledged[]>();
    for (const { leaf } of load.revoked) byIssuer.set(leaf.issuerId, [...(byIssuer.get(leaf.issuerId) ?? []), leaf]);
    for (const [issuerId, leaves] of byIssuer) {
      const crl = await crlListing(issuerId, leaves);
      expect(opensslRevocationVerdict(dir, rootPem, crl, leaves[leaves.length - 1] as Acknowledged)).to.match(/certificate revoked/);
    }
  });

  /** Polls the issuer's CRL at the nodes of its AZ until it lists every leaf; the failure names what is missing. */
  async function crlListing(issuerId: string, leaves: readonly Acknowledged[]): Promise<Uint8Array> {
    const az = azNamed((leaves[0] as Acknowledged).az);
    let missing: readonly Acknowledged[] = leaves;
    let seen = 'no CRL served';
    try {
      return await pollFor(`issuer ${issuerId}'s CRL listing its ${leaves.length} revocations`, async () => {
        for (const n of [...nodes.values()].filter((x) => x.az.name === az.name)) {
          const r = await clientOf(az.name).get(n.host, `/crl/${issuerId}.crl`).catch(() => null);
          if (r?.status !== 200) continue;
          const listed = opensslCrlSerials(dir, r.body, (leaves[0] as Acknowledged).chainPem + rootPem);
          missing = leaves.filter((l) => !listed.has(normalSerial(l.serialHex)));
          seen = `${n.host} serves a CRL listing ${listed.size}`;
          if (missing.length === 0) return r.body;
        }
        return null;
      }, FAILOVER_TIMEOUT_MS, 500);
    } catch (err) {
      const when = (ms: number): string => killed.map((k, i) => `kill ${i + 1}${ms >= k.atMs ? '+' : ''}${ms - k.atMs} ms`).join(', ');
      const detail = missing.map((l) => {
        const rev = load.revoked.find((r) => r.leaf === l);
        return `${l.serialHex} (issued ${when(l.atMs)}; revocation sent ${rev ? when(rev.sentAtMs) : '?'}, acknowledged ${rev ? when(rev.atMs) : '?'})`;
      });
      throw new Error(`${(err as Error).message}; ${seen}; missing: ${detail.join('; ')}`, { cause: err });
    }
  }

  it('no VIP ever had two holders: as sampled on the wire, and by the acquire/release/kill timeline of every node', () => {
    const logs = cluster.procs.map((p) => readFileSync(p.logPath, 'utf8'));
    const timeline = vipTimeline(logs, killed);
    expect(timeline.overlaps, 'acquisitions while another node held the VIP').to.deep.equal([]);
    for (const [vip, expected] of expectedHolders) {
      const sampled = observations.filter((o) => o.vip === vip && o.nodeId !== null).map((o) => o.nodeId as string);
      expect(sampled.filter((h, i) => i === 0 || h !== sampled[i - 1]), `${vip} holders as sampled`).to.deep.equal(expected);
      // The logs also hold the start-up, where the founder took the VIP before the steps began.
      expect(timeline.holders.get(vip)?.slice(-expected.length), `${vip} holders as logged`).to.deep.equal(expected);
    }
  });

  async function stopLoad(): Promise<void> {
    load.stopped = true;
    await Promise.all(load.loops);
  }
});

function sameCertificate(r: HttpCallResult, a: IssuedLeaf): boolean {
  if (r.status !== 200) return false;
  const body = jsonOf(r) as { certificates: { certificatePem: string }[] };
  const flat = (pem: string): string => pem.replace(/\s+/g, '');
  return body.certificates.some((c) => flat(c.certificatePem) === flat(a.certificatePem));
}

async function inBatches<T>(items: readonly T[], width: number, each: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(each));
}
