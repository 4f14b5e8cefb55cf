// Whole PKI clusters in one process for PkiNode tests: real PkiNodes over in-memory networks
// (local groups and seats), MemoryStorage, key files in temp dirs, real timers with a fast tick,
// and peers that call each other's handlePeer directly (as the server's mTLS peer client would).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { expect } from 'chai';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryNetwork, MemorySeatNetwork, MemoryStorage, systemRandom, type StateFrameChannel } from '@adrestia/consensus';
import { PkiError, isPkiError } from '../src/errors.ts';
import type { AzSpec } from '../src/state/events.ts';
import type { PeerClient } from '../src/node/peer/protocol.ts';
import { PkiNode, type PkiNodeOptions, type PkiNodeStart } from '../src/node/pki-node.ts';
import { openssl } from './ca-fixtures.ts';

const TICK_MS = 5;
const JOIN_ATTEMPTS_MAX = 20;

const KEK = new Uint8Array(32).fill(7);
export const GLOBAL_VIP = '10.0.0.100';

/**
 * Who holds each VIP, as the network would see it: an acquire while another node holds the
 * address is a violation (two holders), recorded rather than thrown so the test can report it.
 */
class VipRegistry {
  readonly holders = new Map<string, string>();
  readonly violations: string[] = [];
  readonly history: string[] = [];
  hookFor(nodeId: string) {
    return {
      acquire: async ({ address }: { address: string }) => {
        const holder = this.holders.get(address);
        if (holder !== undefined && holder !== nodeId) this.violations.push(`${nodeId} acquired ${address} held by ${holder}`);
        this.holders.set(address, nodeId);
        this.history.push(`+${address}@${nodeId}`);
      },
      release: async ({ address }: { address: string }) => {
        if (this.holders.get(address) === nodeId) {
          this.holders.delete(address);
          this.history.push(`-${address}@${nodeId}`);
        }
      },
    };
  }
  /** A crashed node's addresses go with it (its host is down). */
  dropAll(nodeId: string): void {
    for (const [a, h] of this.holders) if (h === nodeId) this.holders.delete(a);
  }
}

/** State-transfer frames between nodes (consensus two-tier/state-transfer.ts), delivered asynchronously; none to or from a node that is down. */
class MemoryStateNetwork {
  private readonly handlers = new Map<string, (from: string, frame: Uint8Array) => void>();
  /** Frames sent, per sender: which peer served a transfer. */
  readonly framesFrom = new Map<string, number>();
  constructor(private readonly down: ReadonlySet<string>) {}
  endpoint(nodeId: string): StateFrameChannel {
    return {
      send: (to, frame) => {
        if (this.down.has(nodeId)) return;
        this.framesFrom.set(nodeId, (this.framesFrom.get(nodeId) ?? 0) + 1);
        const copy = Uint8Array.from(frame);
        setImmediate(() => {
          if (!this.down.has(to) && !this.down.has(nodeId)) this.handlers.get(to)?.(nodeId, copy);
        });
      },
      onFrame: (handler) => void this.handlers.set(nodeId, handler),
    };
  }
}

export class PkiTestCluster {
  readonly localNet = new MemoryNetwork();
  readonly seatNet = new MemorySeatNetwork();
  readonly nodes = new Map<string, PkiNode>();
  readonly storages = new Map<string, MemoryStorage>();
  readonly down = new Set<string>();
  readonly vips = new VipRegistry();
  readonly stateNet = new MemoryStateNetwork(this.down);
  readonly dataDir = mkdtempSync(join(tmpdir(), 'adrestia-pki-node-'));
  /** Added to every node's wall clock (`nowMs`): a test may move the cluster's time forward. */
  clockOffsetMs = 0;
  private ordinal = 10;

  /**
   * `extraOptions` are given to every node (e.g. `publicHttpPort`, which turns on URLs in
   * certificates and OCSP responders); `stateOnDisk`: each node keeps its PKI state in LevelDB in
   * its directory (as the server does); `streamed` (with it): snapshots only name the state, which
   * travels between nodes over `stateNet` (as the server's mesh carries it).
   */
  constructor(
    private readonly extraOptions: Partial<PkiNodeOptions> = {},
    private readonly cluster: { stateOnDisk?: boolean; streamed?: boolean } = {},
  ) {}

  peers(self: string): PeerClient {
    return {
      call: async (nodeId, request) => {
        const target = this.nodes.get(nodeId);
        if (!target || this.down.has(nodeId)) throw new PkiError('ERR_TIMEOUT', `peer ${nodeId} unreachable`);
        return target.handlePeer(self, request);
      },
    };
  }

  /**
   * Starts a node in the given mode. A joiner whose AZ founder has not received the AZ ICA from
   * the global log yet is told ERR_NOT_READY and tries again from fresh storage, as the server does.
   */
  async start(nodeId: string, az: string, how: PkiNodeStart): Promise<PkiNode> {
    for (let attempt = 1; ; attempt++) {
      try {
        const node = await PkiNode.start(this.options(nodeId, az, attempt > 1), how);
        this.nodes.set(nodeId, node);
        this.down.delete(nodeId);
        return node;
      } catch (e) {
        if (how.mode !== 'join' || !isPkiError(e, 'ERR_NOT_READY') || attempt >= JOIN_ATTEMPTS_MAX) throw e;
        void this.localNet.endpointOf(nodeId)?.close();
        await new Promise((r) => setTimeout(r, 20 * attempt));
      }
    }
  }

  /**
   * Seed 000 start-up through discovery: the probe plays the HTTP status request against the
   * cluster VIP (answered by whoever holds it, redirected to the AZ's local VIP holder).
   */
  async bootstrap(nodeId: string, n: number, founder: boolean): Promise<PkiNode> {
    const az = azSpec(n);
    const node = await PkiNode.bootstrap(
      async () => {
        this.storages.delete(nodeId);
        void this.localNet.endpointOf(nodeId)?.close();
        return this.options(nodeId, az.name, true);
      },
      {
        probe: async () => this.probeStatus(az.name),
        pkiInitRetry: 3,
        mayFoundCluster: founder,
        pause: () => new Promise((r) => setTimeout(r, 30)),
        hasState: false,
        clusterId: '4f9a1c2e-7b3d-4e5f-8a9b-0c1d2e3f4a5b',
        azSpec: az,
      },
    );
    this.nodes.set(nodeId, node);
    return node;
  }

  private async probeStatus(az: string) {
    const holderId = this.vips.holders.get(GLOBAL_VIP);
    const holder = holderId === undefined ? undefined : this.nodes.get(holderId);
    if (!holder || this.down.has(holder.nodeId)) return null;
    const cluster = await holder.app.store.cluster();
    if (!cluster) return null;
    // An AZ an admin declared but no node founded yet has no local group: its first node founds it.
    const known = await holder.app.store.getAz(az);
    if (!known || known.phase === 'declared') return { kind: 'azUnknown' as const, clusterId: cluster.clusterId, globalLeaderId: holder.nodeId };
    return { kind: 'azExists' as const, clusterId: cluster.clusterId, localLeaderId: this.vips.holders.get(azLocalVip(az)) ?? null };
  }

  private options(nodeId: string, az: string, fresh = false): PkiNodeOptions {
    const reopened = (!fresh && this.storages.get(nodeId)?.reopen()) || null;
    const storage = reopened ?? new MemoryStorage();
    this.storages.set(nodeId, storage);
    // The state belongs with its Raft log: fresh storage, fresh state (serve/start-node.ts).
    const stateDir = this.cluster.stateOnDisk ? join(this.nodeDir(nodeId), 'state') : null;
    if (stateDir !== null && reopened === null) rmSync(stateDir, { recursive: true, force: true });
    const host = `127.0.0.${this.ordinal++}`;
    return {
        nodeId,
        az,
        addresses: { api: `${host}:8443`, raft: `${host}:7000` },
        dataDir: this.nodeDir(nodeId),
        kek: KEK,
        storage,
        ...(stateDir !== null ? { stateDir } : {}),
        ...(stateDir !== null && this.cluster.streamed === true ? { stateChannel: this.stateNet.endpoint(nodeId) } : {}),
        localTransport: this.localNet.endpoint(nodeId),
        seatTransport: this.seatNet.endpoint(az, nodeId),
        peers: this.peers(nodeId),
        nowMs: () => Date.now() + this.clockOffsetMs,
        random: systemRandom,
        tickMs: TICK_MS,
        localRaft: { electionTimeoutTicks: 10, heartbeatIntervalTicks: 1 },
        globalRaft: { electionTimeoutTicks: 40, heartbeatIntervalTicks: 4 },
        maintenanceEveryTicks: 10,
        crlNextUpdateSeconds: 3600,
        // In-memory hooks finish at once (two fence steps would do for them), but the margin also
        // bounds the stall watch (vip-fence.ts stepStallWatch: a step later than one
        // tick plus the margin voids the lease): these real 5 ms timers run beside other tests on
        // shared cores, so it is far above the two fence steps in-memory hooks would need.
        vip: { hook: this.vips.hookFor(nodeId), globalVip: GLOBAL_VIP, localVip: azLocalVip(az), releaseMarginMs: 100 * TICK_MS },
        ...this.extraOptions,
    };
  }

  nodeDir(nodeId: string): string {
    const dir = join(this.dataDir, nodeId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  async crash(nodeId: string): Promise<void> {
    this.down.add(nodeId);
    await this.nodes.get(nodeId)!.stop();
    this.vips.dropAll(nodeId);
  }

  live(): PkiNode[] {
    return [...this.nodes.entries()].filter(([id]) => !this.down.has(id)).map(([, n]) => n);
  }

  localLeader(az: string): PkiNode | undefined {
    return this.live().find((n) => n.az === az && n.status().pkiLocalLeader);
  }

  globalLeader(): PkiNode | undefined {
    return this.live().find((n) => n.status().pkiGlobalLeader);
  }

  async stop(): Promise<void> {
    for (const n of this.live()) await n.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function azLocalVip(az: string): string {
  return `10.${az.replace(/^az/, '')}.0.1`;
}

export function azSpec(n: number): AzSpec {
  return { name: `az${n}`, subnets: [`10.${n}.0.0/16`], localVip: `10.${n}.0.1` };
}

export async function eventually<T>(what: string, fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: string | null = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last !== null ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const CLUSTER_ID = '4f9a1c2e-7b3d-4e5f-8a9b-0c1d2e3f4a5b';

/** A P-256 key and CSR made by OpenSSL, as a client would. */
export function opensslCsr(dir: string, name: string, cn: string): { csrPem: string; keyPath: string } {
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const r1 = openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyPath]);
  expect(r1.status, r1.stderr).to.equal(0);
  const r2 = openssl(['req', '-new', '-key', keyPath, '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`, '-out', csrPath]);
  expect(r2.status, r2.stderr).to.equal(0);
  return { csrPem: openssl(['req', '-in', csrPath]).stdout, keyPath };
}

export async function buildTwoAzCluster(c: PkiTestCluster): Promise<void> {
  await c.start('a1', 'az1', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1) });
  await c.start('b1', 'az2', { mode: 'foundAz', azSpec: azSpec(2), globalLeaderId: 'a1' });
  for (const id of ['a2', 'a3']) await c.start(id, 'az1', { mode: 'join', localLeaderId: 'a1' });
  await c.start('b2', 'az2', { mode: 'join', localLeaderId: 'b1' });
  await eventually('every node ready', () => c.live().every((n) => n.status().ready));
}

export async function issueVia(node: PkiNode, c: PkiTestCluster, name: string) {
  const { csrPem } = opensslCsr(c.dataDir, name, `${name}.svc.example`);
  return eventually(`issue ${name}`, () => node.issue({ csr: csrPem, profile: 'serverLeaf', requester: `test:${name}` }));
}
