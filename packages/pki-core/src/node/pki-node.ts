// PkiNode: one node of the PKI cluster, the library entry point (DESIGN "pki-core"). It runs the
// node's AZ local group and, when it is the AZ's local leader, the AZ's global seat (TwoTierNode),
// applies the PKI events of both tiers to its state (PkiApplication), signs leaves with its own
// node ICA, and commits every result before it answers. Time, randomness, storage, transports,
// peers and VIPs are injected, so the very same code runs under the server and the simulator.
import { validateRaftConfig, TwoTierNode, type Clock, type ConfState, type RaftConfig, type RandomSource, type Storage, type Transport } from '@adrestia/consensus';
import { PkiError } from '../errors.ts';
import type { AzSpec, CrlReason } from '../state/events.ts';
import { defaultCaKeyType, type CaKeyType } from '../ca/keys.ts';
import type { NodeAddresses } from '../state/events.ts';
import type { ClusterMapDiff } from '../cluster/cluster-map.ts';
import { caSignerFromRecord, type CaHandle } from './ca/ca-common.ts';
import { httpBaseUrl } from './ca/issuer-urls.ts';
import { createAzIntermediate, foundCluster } from './founding/ca-found.ts';
import { FileNodeKeyStore, makeNodeCsrs, endpointHost, type NodeKeys, type NodeKeyStore } from './ca/ca-node-keys.ts';
import { signNodeRegistration } from './registration/ca-node-registration.ts';
import { asPkiCode, EventProposer, translate } from './core/event-proposer.ts';
import { PkiApplication, type PkiApplyResult } from './core/pki-application.ts';
import type { PeerClient, PeerRequest, PeerResponse } from './peer/protocol.ts';
import type { CaBundle, IssuedLeaf, IssueRequest, PkiNodeApi, RenewRequest, PkiNodeStatus, PkiRoleEvent, RevokeRequest } from './pki-node-api.ts';
import { NodeServices } from './issuance/issuance.ts';
import { AdminServices, type IssuedJoinToken, type JoinTokenRequest, type RemovedNode } from './admin/admin-services.ts';
import type { AzDeclaration, DeclaredAz, RemovedAz } from './admin/az-admin.ts';
import { checkAzMatches } from './admin/az-spec.ts';
import { VipManager, type VipHookLike } from './vip/vip-manager.ts';
import { discover, type DiscoveryOptions } from './founding/discovery.ts';
import { buildClusterMap } from './status/cluster-map-view.ts';

export interface PkiNodeOptions {
  nodeId: string;
  az: string;
  addresses: NodeAddresses;
  /** Holds the node ICA key (0400) and TLS key (0600): a FileNodeKeyStore, unless `keyStore` is given. */
  dataDir?: string;
  /** Where the node makes and keeps its keys (the simulator keeps them on its virtual disk). */
  keyStore?: NodeKeyStore;
  /** Key type of the node ICA and TLS keys and of the AZ ICAs this node creates; default P-256. */
  caKeyType?: CaKeyType;
  /** The operator's key-encryption key (32 bytes): unwraps root and AZ ICA keys in memory. */
  kek: Uint8Array;
  storage: Storage;
  localTransport: Transport;
  seatTransport: Transport;
  peers: PeerClient;
  clock?: Clock;
  /** Wall-clock time for certificates and events (ms since epoch). */
  nowMs: () => number;
  /** A monotonic clock in ms for lease timing (VIP fencing); default `performance.now()`. */
  monotonicMs?: () => number;
  random: RandomSource;
  tickMs: number;
  localRaft?: Partial<RaftConfig>;
  globalRaft?: Partial<RaftConfig>;
  vip?: { hook: VipHookLike; globalVip: string | null; localVip: string | null; maxClockDriftMs?: number; releaseMarginMs?: number };
  snapshotEveryEntries?: number;
  /** How often scheduled work (CRL refresh, learner promotion, expiry sweep) runs, in ticks. */
  maintenanceEveryTicks?: number;
  crlNextUpdateSeconds?: number;
  /**
   * The port of the public HTTP endpoints (the server's `http` listener, the same on every node).
   * Certificates then name their issuer's CRL and certificate (CRL distribution points, AIA
   * caIssuers) on the issuer's AZ local VIP, or on the cluster VIP for the root (issuer-urls.ts).
   */
  publicHttpPort?: number;
  /** Unexpected failures of scheduled work (logged by the server; never thrown at callers). */
  onError?: (error: unknown) => void;
}

export type PkiNodeStart =
  /** The first node of a new cluster: root, first AZ, both leader roles. */
  | { mode: 'foundCluster'; clusterId: string; azSpec: AzSpec; rootSubject?: string; keyType?: CaKeyType }
  /** The first node of a new AZ: asks the global leader to add the AZ, then registers itself. */
  | { mode: 'foundAz'; azSpec: AzSpec; globalLeaderId: string }
  /** A node whose registration the AZ's local leader accepted (`register` peer request or HTTPS). */
  | { mode: 'join'; localLeaderId: string }
  /** A node restarting from its storage and key files. */
  | { mode: 'restart' };

/** How `bootstrap` discovers and what it founds. */
export interface BootstrapOptions {
  /** One `GET /api/v1/status` against the cluster VIP (following the redirect to the local VIP). */
  probe: DiscoveryOptions['probe'];
  pkiInitRetry: number;
  mayFoundCluster: boolean;
  pause(attempt: number): Promise<void>;
  /** The node already holds Raft state: it restarts instead of discovering. */
  hasState: boolean;
  /** Used when founding. */
  clusterId: string;
  azSpec: AzSpec;
  rootSubject?: string;
}

const RACE_CODES = new Set(['ERR_ALREADY_EXISTS', 'ERR_NOT_LEADER', 'ERR_TIMEOUT', 'ERR_NO_LOCAL_QUORUM', 'ERR_NO_GLOBAL_QUORUM', 'ERR_NOT_READY']);

const performanceNow = (): number => performance.now();

const EMPTY: ConfState = { voters: [], learners: [], votersOutgoing: [] };
const DEFAULT_GLOBAL: Partial<RaftConfig> = { electionTimeoutTicks: 30, heartbeatIntervalTicks: 3 };

export class PkiNode implements PkiNodeApi {
  readonly nodeId: string;
  readonly az: string;
  readonly app = new PkiApplication();
  private twoTier!: TwoTierNode<PkiApplyResult>;
  private readonly proposer: EventProposer;
  private readonly keyStore: NodeKeyStore;
  private readonly caKeyType: CaKeyType;
  private services!: NodeServices;
  private vip: VipManager | null = null;
  private readonly roleListeners = new Set<(e: PkiRoleEvent) => void>();
  private keys: NodeKeys | null = null;
  private readonly admin = new AdminServices(this, (event, tier) => this.commitOk(event, tier));

  private constructor(readonly options: PkiNodeOptions) {
    this.nodeId = options.nodeId;
    this.az = options.az;
    this.proposer = new EventProposer(options.nodeId, () => this.twoTier, options.peers);
    if (options.keyStore === undefined && options.dataDir === undefined) throw new TypeError('PkiNode: give dataDir or keyStore');
    this.keyStore = options.keyStore ?? new FileNodeKeyStore(options.dataDir!);
    this.caKeyType = options.caKeyType ?? defaultCaKeyType;
  }

  static async start(options: PkiNodeOptions, how: PkiNodeStart): Promise<PkiNode> {
    const node = new PkiNode(options);
    const founding = how.mode === 'foundCluster';
    const firstInAz = founding || how.mode === 'foundAz';
    await node.startTwoTier(
      how.mode === 'restart' ? undefined : firstInAz ? { voters: [options.nodeId], learners: [], votersOutgoing: [] } : EMPTY,
      how.mode === 'restart' ? undefined : founding ? { voters: [options.az], learners: [], votersOutgoing: [] } : EMPTY,
      // The AZ's seat is ours only once the global leader accepts us as the AZ's founder (foundAz).
      how.mode === 'foundAz',
    );
    try {
      if (how.mode === 'foundCluster') await node.foundCluster(how);
      else if (how.mode === 'foundAz') await node.foundAz(how);
      else if (how.mode === 'join') await node.join(how);
      else node.keys = await node.keyStore.loadNodeKeys();
    } catch (e) {
      await node.stop();
      throw e;
    }
    node.services.start();
    return node;
  }

  /**
   * Start-up as seed 000 describes, made safe (discovery.ts): discover, then found the cluster,
   * found the AZ, or join — or restart when this node has joined before (`hasState`). Discovery
   * repeats until it reaches a decision; a founding or joining attempt that loses a race (e.g. the
   * AZ was founded meanwhile) goes back to discovery.
   */
  static async bootstrap(makeOptions: () => Promise<PkiNodeOptions>, b: BootstrapOptions): Promise<PkiNode> {
    if (b.hasState) return PkiNode.start(await makeOptions(), { mode: 'restart' });
    for (let round = 1; ; round++) {
      const decision = await discover({ probe: b.probe, retries: b.pkiInitRetry, mayFoundCluster: b.mayFoundCluster, pause: b.pause });
      if (decision.kind === 'retryLater') {
        await b.pause(round);
        continue;
      }
      const options = await makeOptions();
      try {
        if (decision.kind === 'foundCluster') {
          return await PkiNode.start(options, { mode: 'foundCluster', clusterId: b.clusterId, azSpec: b.azSpec, ...(b.rootSubject ? { rootSubject: b.rootSubject } : {}) });
        }
        if (decision.kind === 'foundAz') return await PkiNode.start(options, { mode: 'foundAz', azSpec: b.azSpec, globalLeaderId: decision.globalLeaderId });
        return await PkiNode.start(options, { mode: 'join', localLeaderId: decision.localLeaderId });
      } catch (e) {
        // Lost a race (AZ founded by another node, leader moved): nothing of this attempt is
        // kept; `makeOptions` gives the next one fresh storage, transports and key directory.
        if (!(e instanceof PkiError) || !RACE_CODES.has(e.code)) throw e;
        await b.pause(round);
      }
    }
  }

  private async startTwoTier(local: ConfState | undefined, global: ConfState | undefined, seatHeld = false): Promise<void> {
    const o = this.options;
    this.twoTier = await TwoTierNode.start<PkiApplyResult>({
      nodeId: o.nodeId,
      az: o.az,
      storage: o.storage,
      localTransport: o.localTransport,
      seatTransport: o.seatTransport,
      app: this.app,
      ...(o.localRaft ? { localRaft: o.localRaft } : {}),
      globalRaft: validateRaftConfig({ ...DEFAULT_GLOBAL, ...o.globalRaft }),
      tickMs: o.tickMs,
      ...(o.clock ? { clock: o.clock } : {}),
      random: o.random,
      ...(local ? { localInitialConfState: local } : {}),
      ...(global ? { globalInitialConfState: global } : {}),
      ...(o.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: o.snapshotEveryEntries } : {}),
      seatHeld,
    });
    this.services = new NodeServices(this, this.twoTier, this.proposer, () => this.keys);
    if (o.vip) {
      const localTicks = validateRaftConfig(o.localRaft ?? {}).electionTimeoutTicks;
      const globalTicks = validateRaftConfig({ ...DEFAULT_GLOBAL, ...o.globalRaft }).electionTimeoutTicks;
      this.vip = new VipManager({ ...o.vip, ...(o.clock ? { clock: o.clock } : {}) }, this.twoTier, o.tickMs, () => this.nowMonotonic(), localTicks, globalTicks);
    }
    this.twoTier.onRoleChange((e) => {
      for (const l of this.roleListeners) l({ tier: e.tier, leader: e.role === 'leader', term: e.term });
    });
  }

  /**
   * The VIP fence compares lease times and refuses a clock that goes backwards, which a wall
   * clock may do (NTP): it runs on a monotonic clock, the process's unless one is injected.
   */
  private nowMonotonic(): number {
    return (this.options.monotonicMs ?? performanceNow)();
  }

  // ---- founding ----

  private async foundCluster(how: Extract<PkiNodeStart, { mode: 'foundCluster' }>): Promise<void> {
    const o = this.options;
    this.twoTier.campaignLocal();
    await this.services.waitFor('seat active', () => this.twoTier.status().seat !== null);
    this.twoTier.campaignGlobal();
    await this.services.waitFor('global leader', () => this.twoTier.isGlobalLeader());
    const founded = await foundCluster({
      clusterId: how.clusterId,
      rootSubject: how.rootSubject ?? `CN=Adrestia Root CA,OU=${how.clusterId}`,
      azSpec: how.azSpec,
      keyType: how.keyType ?? this.caKeyType,
      generateKey: this.keyStore.generateCaKey,
      rootPublicBaseUrl: this.clusterPublicBaseUrl(),
      kek: o.kek,
      nowMs: o.nowMs(),
      serials: o.random,
    });
    for (const ev of founded.events) await this.commitOk(ev, 'global');
    await this.registerSelf(founded.azIca);
  }

  private async foundAz(how: Extract<PkiNodeStart, { mode: 'foundAz' }>): Promise<void> {
    const o = this.options;
    this.twoTier.campaignLocal();
    await this.services.waitFor('local leader', () => this.twoTier.isLocalLeader());
    // The global leader signs this node's certificates with the new AZ ICA in the same request:
    // over real transports the seat can learn the global log only once the node has them. The
    // seat stays held until then: a sibling founding the AZ at the same moment may be the one
    // accepted, and the AZ's seat messages must reach one local group only.
    const keys = await this.keyStore.createNodeKeys(this.caKeyType);
    const csrs = makeNodeCsrs({ keys, nodeId: o.nodeId, az: o.az, hosts: hostsOf(o.addresses) });
    const answer = await o.peers.call(how.globalLeaderId, { kind: 'foundAz', az: how.azSpec, nodeId: o.nodeId, addresses: o.addresses, ...csrs });
    if (answer.kind === 'error') throw new PkiError(asPkiCode(answer.code), `founding AZ ${how.azSpec.name} refused: ${answer.message}`);
    if (answer.kind !== 'registered') throw new PkiError('ERR_EVENT_REJECTED', `unexpected answer ${answer.kind} to foundAz`);
    this.keys = keys;
    this.twoTier.releaseSeat();
    // Start returns here, before the global log reached this AZ: over real transports the seat's
    // messages flow only once the server has attached its mTLS mesh, which it does with the node
    // start returns (server/serve/runtime.ts step 3), so waiting here for the AZ ICA deadlocked
    // every new AZ's founder. The node reports ready (status) once the cluster's log has arrived.
  }

  /**
   * Phase II for a node of an existing AZ: keys made here (the ICA key never leaves the node),
   * CSRs to the local leader, which commits the registration and adds this node as a learner.
   */
  private async join(how: Extract<PkiNodeStart, { mode: 'join' }>): Promise<void> {
    const o = this.options;
    const keys = await this.keyStore.createNodeKeys(this.caKeyType);
    const csrs = makeNodeCsrs({ keys, nodeId: o.nodeId, az: o.az, hosts: hostsOf(o.addresses) });
    const answer = await o.peers.call(how.localLeaderId, { kind: 'register', nodeId: o.nodeId, az: o.az, addresses: o.addresses, ...csrs });
    if (answer.kind === 'error') throw new PkiError(asPkiCode(answer.code), `registration refused: ${answer.message}`);
    if (answer.kind !== 'registered') throw new PkiError('ERR_EVENT_REJECTED', `unexpected registration answer ${answer.kind}`);
    this.keys = keys;
  }

  /** The founder of a cluster or AZ signs its own node ICA with the AZ ICA it holds. */
  private async registerSelf(azIca: CaHandle): Promise<void> {
    const o = this.options;
    this.keys = await this.keyStore.createNodeKeys(this.caKeyType);
    const csrs = makeNodeCsrs({ keys: this.keys, nodeId: o.nodeId, az: o.az, hosts: hostsOf(o.addresses) });
    const signed = await signNodeRegistration({
      azIca,
      ...csrs,
      nodeId: o.nodeId,
      az: o.az,
      addresses: o.addresses,
      nowMs: o.nowMs(),
      serials: o.random,
      publicBaseUrl: await this.azPublicBaseUrl(o.az),
    });
    for (const ev of signed.events) await this.commitOk(ev, 'global');
  }

  /** Commits an event this node built and requires it to be accepted. */
  async commitOk(event: Parameters<EventProposer['commit']>[0], tier?: 'local' | 'global'): Promise<PkiApplyResult> {
    const outcome = await this.services.retryTransient(() => this.proposer.commit(event, tier));
    if (!outcome.ok) throw new PkiError(outcome.error.code, `${event.type} rejected: ${outcome.error.message}`);
    return outcome;
  }

  // ---- PkiNodeApi ----

  status(): PkiNodeStatus {
    return this.services.status();
  }

  clusterMap(sinceGeneration = 0): Promise<ClusterMapDiff> {
    return buildClusterMap(this, this.twoTier, sinceGeneration);
  }

  caBundle(): Promise<CaBundle> {
    return this.services.caBundle();
  }

  issue(request: IssueRequest): Promise<IssuedLeaf> {
    return this.services.issue(request);
  }

  renew(request: RenewRequest): Promise<IssuedLeaf> {
    return this.services.renew(request);
  }

  revoke(request: RevokeRequest): Promise<{ revokedAt: number }> {
    return this.services.revoke(request);
  }

  getCertificate(serialHex: string) {
    return this.services.getCertificate(serialHex);
  }

  async getCrl(issuerId: string): Promise<Uint8Array | null> {
    return (await this.app.store.latestCrl(issuerId))?.crlDer ?? null;
  }

  async getCaCertificate(issuerId: string): Promise<Uint8Array | null> {
    return (await this.app.store.getCa(issuerId))?.certDer ?? null;
  }

  async handlePeer(fromNodeId: string, request: PeerRequest): Promise<PeerResponse> {
    try {
      return await this.services.handlePeer(fromNodeId, request);
    } catch (e) {
      const err = translate(e, request.kind === 'proposeGlobal' || request.kind === 'foundAz' ? 'global' : 'local');
      const code = err instanceof PkiError ? err.code : 'ERR_INTERNAL';
      return { kind: 'error', code, message: err.message, leaderId: this.twoTier.status().local.leaderId };
    }
  }

  removeNode(nodeId: string, requestedBy: string): Promise<RemovedNode> {
    return this.admin.removeNode(nodeId, requestedBy);
  }

  setProfile(name: string, profile: unknown): Promise<void> {
    return this.admin.setProfile(name, profile);
  }

  removeProfile(name: string): Promise<void> {
    return this.admin.removeProfile(name);
  }

  issueJoinToken(request: JoinTokenRequest, key: Uint8Array): Promise<IssuedJoinToken> {
    return this.admin.issueJoinToken(request, key);
  }

  addAz(az: AzDeclaration, requestedBy: string): Promise<DeclaredAz> {
    return this.admin.addAz(az, requestedBy);
  }

  removeAz(name: string, requestedBy: string): Promise<RemovedAz> {
    return this.admin.removeAz(name, requestedBy);
  }

  /** A peer's `removeAz` (this node should be its AZ's local leader; it does not forward again). */
  removeAzForPeer(name: string, requestedBy: string): Promise<RemovedAz> {
    return this.admin.removeAz(name, requestedBy, true);
  }

  onRoleChange(listener: (e: PkiRoleEvent) => void): () => void {
    this.roleListeners.add(listener);
    return () => this.roleListeners.delete(listener);
  }

  /** The consensus node underneath (status, tests, the simulator's checkers). */
  get consensus(): TwoTierNode<PkiApplyResult> {
    return this.twoTier;
  }

  /** Health of a node of this AZ, as checked by this node when it is the local leader. */
  healthOf(nodeId: string) {
    return this.services.healthOf(nodeId);
  }

  /** Other AZs' local leaders, as this node sees them when it is the global leader. */
  otherAzLeaders(): ReadonlyMap<string, string> {
    return this.services.otherAzLeaders();
  }

  nodeKeys(): NodeKeys | null {
    return this.keys;
  }

  /** AZ `az`'s public HTTP base URL (its local VIP, from the state), when the HTTP port is known. */
  async azPublicBaseUrl(az: string): Promise<string | undefined> {
    const port = this.options.publicHttpPort;
    const record = port === undefined ? undefined : await this.app.store.getAz(az);
    return record === undefined || port === undefined ? undefined : httpBaseUrl(record.localVip, port);
  }

  /** The cluster VIP's public HTTP base URL (the root's CRL is in every AZ), when known. */
  clusterPublicBaseUrl(): string | undefined {
    const port = this.options.publicHttpPort;
    const vip = this.options.vip?.globalVip;
    return port === undefined || !vip ? undefined : httpBaseUrl(vip, port);
  }

  /**
   * On the global leader (peer `foundAz`): the AZ with this node as its founder — `AzAdded` for
   * an AZ the cluster does not know, `AzFounded` for one an admin declared (the node must be
   * configured as declared: ERR_AZ_MISMATCH) — then the AZ ICA, and the AZ's seat as a learner.
   * Idempotent for the founder (a lost answer is retried); any other node is refused, so one AZ
   * never has two local groups acting for its seat: the global log decides who founded it.
   */
  async createAz(request: Extract<PeerRequest, { kind: 'foundAz' }>): Promise<PeerResponse> {
    const { az, nodeId: founderNodeId } = request;
    const store = this.app.store;
    const cluster = await store.cluster();
    if (!cluster) throw new PkiError('ERR_NOT_FOUND', 'no cluster yet');
    await this.claimFounder(az, founderNodeId);
    // A removed AZ's ICA stays in the state, revoked; a later AZ of the same name gets its own.
    let azIcaRecord = (await store.cas()).find((c) => c.role === 'az' && c.az === az.name && c.revokedAt === null);
    if (!azIcaRecord) {
      const root = caSignerFromRecord((await store.getCa(cluster.rootIssuerId))!, this.options.kek);
      const { event } = await createAzIntermediate({
        root,
        az: az.name,
        clusterId: cluster.clusterId,
        kek: this.options.kek,
        nowMs: this.options.nowMs(),
        serials: this.options.random,
        keyType: this.caKeyType,
        generateKey: this.keyStore.generateCaKey,
        rootPublicBaseUrl: this.clusterPublicBaseUrl(),
      });
      await this.commitOk(event, 'global');
      azIcaRecord = (await store.cas()).find((c) => c.role === 'az' && c.az === az.name && c.revokedAt === null)!;
    }
    this.services.addSeat(az.name);
    return this.services.registerWith(caSignerFromRecord(azIcaRecord, this.options.kek), { ...request, az: az.name });
  }

  /** Commits `AzAdded` or `AzFounded` naming the founder, unless the state already names it. */
  private async claimFounder(az: AzSpec, founderNodeId: string): Promise<void> {
    const store = this.app.store;
    const existing = await store.getAz(az.name);
    if (existing?.phase === 'removing') throw new PkiError('ERR_AZ_REMOVING', `AZ ${az.name} is being removed`);
    if (existing && existing.phase !== 'declared' && existing.founderNodeId !== founderNodeId) {
      throw new PkiError('ERR_ALREADY_EXISTS', `AZ ${az.name} exists (founded by ${existing.founderNodeId ?? 'the cluster founder'}); join it through its local leader`);
    }
    if (existing) checkAzMatches(existing, az);
    if (existing?.founderNodeId === founderNodeId) return;
    const at = this.options.nowMs();
    const event = existing ? { type: 'AzFounded' as const, name: az.name, founderNodeId, at } : { type: 'AzAdded' as const, az, founderNodeId, at };
    const outcome = await this.services.retryTransient(() => this.proposer.commit(event, 'global'));
    // A retried commit may find its own first attempt applied: the state names this founder.
    if (!outcome.ok && (await store.getAz(az.name))?.founderNodeId !== founderNodeId) {
      throw new PkiError(outcome.error.code, `${event.type} rejected: ${outcome.error.message}`);
    }
  }

  async stop(): Promise<void> {
    this.services?.stop();
    await this.vip?.stop();
    await this.twoTier?.stop();
  }

}

function hostsOf(addresses: NodeAddresses): string[] {
  return [...new Set([endpointHost(addresses.api), endpointHost(addresses.raft)])];
}

export type { CrlReason };
