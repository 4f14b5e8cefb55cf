// PkiNode: one node of the PKI cluster, the library entry point, and the composition root of
// node/ (docs/architecture.md §12, §12.3).
// It starts the node's two tiers (TwoTierNode: the AZ's local group and, while this node is the
// AZ's local leader, the AZ's global seat) over the state machine (core/pki-application.ts),
// builds the shared parts — context, role view, read view, committer — and the features over
// them, and implements PkiNodeApi by delegating to them. Time, randomness, storage, transports,
// peers and VIPs are injected, so the very same code runs under the server and the simulator.
import { systemClock, validateRaftConfig, TwoTierNode, type Clock, type ConfState, type RaftConfig, type RandomSource, type StateFrameChannel, type Storage, type Transport } from '@adrestia/consensus';
import { defaultCaKeyType, type CaKeyType } from '../ca/keys.ts';
import type { ClusterMapDiff, ClusterMapSince } from '../cluster/map-generation.ts';
import type { HealthState } from '../cluster/node-health.ts';
import { PkiError } from '../errors.ts';
import type { AzSpec, ClusterSettings, NodeAddresses } from '../state/events.ts';
import type { PkiStateQueries } from '../state/queries.ts';
import type { AzRecord, CertificateRecord, NodeRecord } from '../state/records.ts';
import { CRL_PARTITIONS_DEFAULT, CRL_PARTITIONS_MAX, isCrlPartitionCount } from '../state/crl-partitions.ts';
import { Acme, type AcmeOptions } from './acme/index.ts';
import { NodeAging, type AgingLimits } from './aging/index.ts';
import { ProvisionerAdmin, type ProvisionerView } from './provisioners/provisioner-admin.ts';
import { TokenIssuance, type TokenIssueRequest } from './provisioners/token-issuance.ts';
import { AuditCheckpoints, AuditHistory, checkAuditCheckpointPolicy, DEFAULT_AUDIT_CHECKPOINT_POLICY, type AuditCheckpointPolicy, type AuditPage } from './audit/index.ts';
import { ClusterBackups } from './admin/backup.ts';
import type { ClusterBackup } from './admin/backup-file.ts';
import { AdminServices, type AzDeclaration, type DeclaredAz, type IssuedJoinToken, type JoinTokenRequest, type RefoundRequest } from './admin/index.ts';
import { FileNodeKeyStore, type NodeKeys, type NodeKeyStore } from './ca/ca-node-keys.ts';
import { AzIcaRenewal } from './ca/az-ica-renewal.ts';
import { NodeRenewal } from './ca/node-renewal.ts';
import { RootRollover, type RotatedRoot } from './ca/root-rollover.ts';
import type { PendingRootRollover } from './ca/root-rollover-offline.ts';
import { OwnCa } from './ca/own-ca.ts';
import { PublicBaseUrls } from './ca/public-base-urls.ts';
import { Committer } from './core/committer.ts';
import { OwnKeys, type NodeContext } from './core/context.ts';
import { EventProposer } from './core/event-proposer.ts';
import { PkiApplication, type PkiApplyResult } from './core/pki-application.ts';
import { ReadView } from './core/read-view.ts';
import { RoleView, type PkiTwoTier } from './core/roles.ts';
import { sleepTicks } from './core/tick-sleep.ts';
import { Founding, discover, type DiscoveryOptions, type OfflineRootFounding, type PkiNodeStart } from './founding/index.ts';
import { Issuance } from './issuance/index.ts';
import { KekRing, KekRotation, type RotatedKek } from './kek/index.ts';
import { MaintenanceScheduler } from './maintenance/index.ts';
import { Membership } from './membership/index.ts';
import { PeerDispatch } from './peer/dispatch.ts';
import type { PeerClient, PeerRequest, PeerResponse, RefoundedAz, RemovedAz, RemovedNode } from './peer/protocol.ts';
import type { CaBundle, IssuedLeaf, IssueRequest, PkiNodeApi, PkiNodeStatus, PkiRoleEvent, RenewRequest, RevokeRequest } from './pki-node-api.ts';
import { checkOcspLimits, Ocsp, type OcspAnswer } from './ocsp/index.ts';
import { NodeRegistration, type AcceptedRegistration, type CaBundleResponseBody, type CaBundleResponseInput, type VerifyRegistrationInput } from './registration/index.ts';
import { Revocation } from './revocation/index.ts';
import { ClusterMapView, ClusterReads, NodeStatus, OperatorReports, type OperatorReport, type RecentRevocation } from './status/index.ts';
import { VipManager, type VipHookLike } from './vip/index.ts';

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
  /**
   * The KEK a rotation moves the state to (docs/architecture.md §19.2), given to every node before
   * `rotateKek` runs: the node then opens the state's keys under either, and wraps new keys under
   * the one that last opened a key.
   */
  nextKek?: Uint8Array;
  storage: Storage;
  /**
   * The LevelDB directory of the PKI state (core/pki-application.ts): a restart then replays only
   * the log after what it holds. It belongs with `storage`: a fresh Raft log needs a fresh state.
   * Left out, the state is kept in memory and rebuilt from the Raft snapshot and log (simulator).
   */
  stateDir?: string;
  /**
   * With `stateDir`: frames to the other nodes of the AZ (the server's mesh), over which a node
   * behind a Raft snapshot fetches the state in chunks (consensus two-tier/state-transfer.ts).
   * Local snapshots then only name the state's `seq` instead of holding all of it; every state
   * write is synced (core/pki-application.ts). Left out, snapshots hold the whole state.
   */
  stateChannel?: StateFrameChannel;
  /** With `stateChannel`: what the state transfer does (fetches begun and ended, peers given up). */
  onStateTransfer?: (message: string) => void;
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
   * Where certificates name public URLs: a complete CRL at least this large (default 64 KiB) is
   * updated by delta CRLs (RFC 5280 §5.2.4) between re-signings; a smaller one is re-signed for
   * every revocation (docs/architecture.md §4.5).
   */
  crlDeltaAboveBytes?: number;
  /**
   * How many partition CRLs (RFC 5280 §5.2.5; state/crl-partitions.ts) each node ICA this node
   * signs gets, recorded with that CA for its life: a power of two up to 1024 (default 256), or 0
   * for one unpartitioned CRL with deltas, as node ICAs created before partitions have
   * (docs/architecture.md §4.5).
   */
  crlPartitions?: number;
  /**
   * The port of the public HTTP endpoints (the server's `http` listener, the same on every node).
   * Certificates then name their issuer's CRL and certificate (CRL distribution points, AIA
   * caIssuers) on the issuer's AZ local VIP, or on the cluster VIP for the root (issuer-urls.ts).
   */
  publicHttpPort?: number;
  /** How long an OCSP answer is valid (nextUpdate − thisUpdate); default 10 minutes (docs/architecture.md §14). */
  ocspValiditySeconds?: number;
  /** Lifetime of the delegated OCSP responder certificates; default 7 days, renewed at half life. */
  ocspResponderLifetimeSeconds?: number;
  /** Unexpected failures of scheduled work (logged by the server; never thrown at callers). */
  onError?: (error: unknown) => void;
  /** ACME orders and certificates (acme/acme.ts DEFAULT_ACME_OPTIONS when absent). */
  acme?: AcmeOptions;
  /**
   * Whether this node renews its TLS certificate (node/ca/node-renewal.ts); default true. An
   * embedder that cannot yet present a renewed certificate to its peers turns it off.
   */
  renewNodeTls?: boolean;
  /**
   * Aging out dead nodes (node/aging/): a node its AZ's local leader has not heard from for this
   * long is marked inactive in the cluster map; default a day.
   */
  nodeInactiveAfterSeconds?: number;
  /** ... and after this long removed from its local group, its node identity revoked; default a week. */
  nodeRemoveAfterSeconds?: number;
  /**
   * When the logs' audit chains are checkpointed (node/audit/; DEFAULT_AUDIT_CHECKPOINT_POLICY for
   * what is left out), and how many history entries this node keeps before each log's latest
   * checkpoint (`retainEntriesMax`; all when absent: the history grows with every command).
   */
  audit?: Partial<AuditCheckpointPolicy> & { retainEntriesMax?: number };
}

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
  /** The cluster's settings when founding it (e.g. the allowed names of `init`); a restore keeps the backup's. */
  settings?: ClusterSettings;
  /** Found from this backup (`adrestia-pki cluster restore`): the cluster, or this node's AZ. */
  restore?: ClusterBackup;
  /** Found the cluster on a root held offline (founding.ts OfflineRootFounding). */
  offlineRoot?: OfflineRootFounding;
}

const RACE_CODES = new Set(['ERR_ALREADY_EXISTS', 'ERR_NOT_LEADER', 'ERR_TIMEOUT', 'ERR_NO_LOCAL_QUORUM', 'ERR_NO_GLOBAL_QUORUM', 'ERR_NOT_READY']);

const performanceNow = (): number => performance.now();

const EMPTY: ConfState = { voters: [], learners: [], votersOutgoing: [] };
const DEFAULT_GLOBAL: Partial<RaftConfig> = { electionTimeoutTicks: 30, heartbeatIntervalTicks: 3 };
/** How often scheduled work runs when the options do not say (maintenance/). */
const DEFAULT_MAINTENANCE_EVERY_TICKS = 20;
/** A day: how far ahead a CRL promises its successor when the options do not say. */
const DEFAULT_CRL_NEXT_UPDATE_SECONDS = 24 * 3600;
/** Complete CRLs below 64 KiB (about 1,100 entries) are re-signed for each revocation; larger ones get deltas. */
const DEFAULT_CRL_DELTA_ABOVE_BYTES = 64 * 1024;
/** OCSP answers valid 10 minutes: how long a cached "good" may outlive a revocation (docs/architecture.md §14). */
const DEFAULT_OCSP_VALIDITY_SECONDS = 600;
/** A week: short-lived, since clients never check a responder certificate's status (id-pkix-ocsp-nocheck). */
const DEFAULT_OCSP_RESPONDER_LIFETIME_SECONDS = 7 * 24 * 3600;
/** A day without contact: marked inactive (node/aging/). */
const DEFAULT_NODE_INACTIVE_AFTER_SECONDS = 24 * 3600;
/** A week without contact: removed and revoked (node/aging/). */
const DEFAULT_NODE_REMOVE_AFTER_SECONDS = 7 * 24 * 3600;
/** Heard from within this long counts as live for aging's quorum check: the health checks' down-after silence (membership/health.ts). */
const AGING_LIVE_WITHIN_MS = 60_000;

/** Signed nonce-less OCSP answers kept for reuse per node. */
const OCSP_CACHED_ANSWERS_MAX = 10_000;

export type { PkiNodeStart };

export class PkiNode implements PkiNodeApi {
  readonly nodeId: string;
  readonly az: string;
  /**
   * The state machine and, through `app.store`, the state as applied here — for inspection only:
   * tests and the simulator's checkers read it to check invariants. Everything else, the server
   * included, reads through PkiNodeApi (behind the read barrier where it must be).
   */
  readonly app: PkiApplication;
  private readonly twoTier: PkiTwoTier;
  private readonly ctx: NodeContext;
  private readonly committer: Committer;
  private readonly maintenance: MaintenanceScheduler;
  private readonly nodeStatus: NodeStatus;
  private readonly membership: Membership;
  private readonly clusterMapView: ClusterMapView;
  private readonly clusterReads: ClusterReads;
  private readonly issuance: Issuance;
  readonly acme: Acme;
  private readonly revocation: Revocation;
  private readonly ocsp: Ocsp;
  private readonly registration: NodeRegistration;
  private readonly founding: Founding;
  private readonly admin: AdminServices;
  private readonly provisionerAdmin: ProvisionerAdmin;
  private readonly tokenIssuance: TokenIssuance;
  private readonly backups: ClusterBackups;
  private readonly auditHistoryReads: AuditHistory;
  private readonly rootRollover: RootRollover;
  private readonly kekRotation: KekRotation;
  private readonly nodeRenewal: NodeRenewal;
  private readonly peerDispatch: PeerDispatch;
  private readonly vip: VipManager | null;
  private readonly operatorReports: OperatorReports;
  private readonly roleListeners = new Set<(e: PkiRoleEvent) => void>();
  private stopped = false;

  private constructor(options: PkiNodeOptions, keyStore: NodeKeyStore, app: PkiApplication, twoTier: PkiTwoTier) {
    this.nodeId = options.nodeId;
    this.az = options.az;
    this.app = app;
    this.twoTier = twoTier;
    const ctx = (this.ctx = this.contextOf(options, keyStore));
    const roles = new RoleView(twoTier);
    const reads = new ReadView(ctx.az, () => app.store, () => twoTier.readIndex());
    const state = (): PkiStateQueries => reads.applied();
    const committer = (this.committer = new Committer(new EventProposer(ctx.nodeId, () => twoTier, ctx.peers), ctx));
    const ownCa = new OwnCa(ctx, state);
    const urls = new PublicBaseUrls(ctx, state);
    // Features with scheduled work add their tasks as they are built: this order is the order of
    // a maintenance round (the cluster id status reports, then membership, then CRLs).
    const maintenance = (this.maintenance = new MaintenanceScheduler(ctx));
    this.nodeStatus = new NodeStatus(ctx, twoTier, state, maintenance);
    const membership = (this.membership = new Membership(ctx, roles, twoTier, state, maintenance));
    const revocation = (this.revocation = new Revocation(ctx, roles, reads, ownCa, urls, committer, maintenance));
    const ocsp = (this.ocsp = new Ocsp(ctx, roles, reads, ownCa, committer, () => membership.otherAzLeaders(), ocspLimitsOf(options), maintenance));
    // Renewal comes after the CRLs: a step that renews (a key generation, global commits) ends later.
    const nodeRenewal = (this.nodeRenewal = new NodeRenewal(ctx, roles, state, urls, committer, maintenance, options.renewNodeTls ?? true));
    const azIcaRenewal = new AzIcaRenewal(ctx, roles, state, urls, committer, maintenance);
    this.rootRollover = new RootRollover(ctx, roles, state, urls, committer, azIcaRenewal);
    this.kekRotation = new KekRotation(ctx, roles, state, committer);
    this.clusterMapView = new ClusterMapView(ctx, twoTier, state, membership);
    this.clusterReads = new ClusterReads(ctx, reads, ownCa);
    const issuance = (this.issuance = new Issuance(ctx, reads, ownCa, urls, committer));
    this.acme = new Acme(ctx, reads, committer, (request) => issuance.issue(request), options.acme);
    const registration = (this.registration = new NodeRegistration(ctx, roles, reads, urls, committer, () => membership.advanceLocalMembers()));
    const founding = (this.founding = new Founding(ctx, twoTier, state, urls, committer, (azIca, r) => registration.registerWith(azIca, r), (az) => membership.addSeat(az)));
    const backups = (this.backups = new ClusterBackups(ctx, reads, () => app.store.snapshot(), () => membership.otherAzLeaders()));
    // After the CRLs and renewals: a checkpoint covers what this round committed before it.
    new AuditCheckpoints(ctx, roles, state, ownCa, committer, auditPolicyOf(options), maintenance);
    this.auditHistoryReads = new AuditHistory(ctx, state);
    const admin = (this.admin = new AdminServices(ctx, twoTier, state, (event, tier) => committer.commitOk(event, tier), () => membership.otherAzLeaders(), (az) => founding.newAzIca(az)));
    new NodeAging(
      ctx,
      { roles, twoTier, state, commitGlobal: (event) => committer.commit(event, 'global'), removeNode: (id, by) => admin.removeNode(id, by), answeredLastPing: (id) => membership.answeredLastPing(id) },
      agingLimitsOf(options),
      maintenance,
    );
    this.provisionerAdmin = new ProvisionerAdmin(ctx.nowMs, state, (event) => committer.commitOk(event, 'global'));
    this.tokenIssuance = new TokenIssuance(ctx.az, ctx.nowMs, () => reads.linearizable(), (event) => committer.commitRetrying(event, 'global'), (request) => issuance.issue(request));
    // Every peer request kind and the feature that answers it.
    this.peerDispatch = new PeerDispatch(
      {
        proposeLocal: { tier: 'local', handle: (_from, r) => committer.answerProposal(r) },
        proposeGlobal: { tier: 'global', handle: (_from, r) => committer.answerProposal(r) },
        foundAz: { tier: 'global', handle: (_from, r) => founding.answerFoundAz(r) },
        register: { tier: 'local', handle: (_from, r) => registration.registerNode(r) },
        removeAz: { tier: 'local', handle: (_from, r) => admin.answerRemoveAz(r) },
        refoundAz: { tier: 'local', handle: (_from, r) => admin.answerRefoundAz(r) },
        revoke: { tier: 'local', handle: (_from, r) => revocation.answerForwarded(r) },
        renewNode: { tier: 'global', handle: (from, r) => nodeRenewal.answerRenewNode(from, r) },
        ping: { tier: 'local', handle: () => membership.answerPing() },
        ocspStatus: { tier: 'local', handle: (_from, r) => ocsp.answerStatus(r) },
        acmeNonce: { tier: 'local', handle: (_from, r) => this.acme.answerNonce(r) },
        stateSnapshot: { tier: 'local', handle: () => backups.answerSnapshot() },
      },
      () => roles.localLeaderId(),
    );
    this.vip = options.vip ? vipManagerOf(options, options.vip, twoTier, ctx.monotonicMs) : null;
    this.operatorReports = new OperatorReports(twoTier, state, { settings: { localVip: options.vip?.localVip ?? null, globalVip: options.vip?.globalVip ?? null }, holdings: this.vip }, options.az);
    twoTier.onRoleChange((e) => {
      for (const l of this.roleListeners) l({ tier: e.tier, leader: e.role === 'leader', term: e.term });
    });
  }

  /** The context every feature reads its part of (core/context.ts), from the options. */
  private contextOf(o: PkiNodeOptions, keyStore: NodeKeyStore): NodeContext {
    const ticks = { ...(o.clock ? { clock: o.clock } : {}), tickMs: o.tickMs };
    return {
      nodeId: o.nodeId,
      az: o.az,
      addresses: o.addresses,
      kek: new KekRing(o.kek, o.nextKek),
      caKeyType: o.caKeyType ?? defaultCaKeyType,
      keyStore,
      ownKeys: new OwnKeys(),
      peers: o.peers,
      random: o.random,
      nowMs: o.nowMs,
      // The VIP fence compares lease times and refuses a clock that goes backwards, which a wall
      // clock may do (NTP): it runs on a monotonic clock, the process's unless one is injected.
      monotonicMs: () => (o.monotonicMs ?? performanceNow)(),
      clock: o.clock ?? systemClock,
      tickMs: o.tickMs,
      globalVip: o.vip?.globalVip ?? null,
      publicHttpPort: o.publicHttpPort,
      maintenanceEveryTicks: o.maintenanceEveryTicks ?? DEFAULT_MAINTENANCE_EVERY_TICKS,
      crlNextUpdateSeconds: o.crlNextUpdateSeconds ?? DEFAULT_CRL_NEXT_UPDATE_SECONDS,
      crlDeltaAboveBytes: o.crlDeltaAboveBytes ?? DEFAULT_CRL_DELTA_ABOVE_BYTES,
      crlPartitions: o.crlPartitions ?? CRL_PARTITIONS_DEFAULT,
      onError: (error) => o.onError?.(error),
      isStopped: () => this.stopped,
      sleepTicks: (n) => sleepTicks(ticks, n),
    };
  }

  static async start(options: PkiNodeOptions, how: PkiNodeStart): Promise<PkiNode> {
    if (options.keyStore === undefined && options.dataDir === undefined) throw new TypeError('PkiNode: give dataDir or keyStore');
    checkBoundedOptions(options);
    checkAgingOptions(options);
    const keyStore = options.keyStore ?? new FileNodeKeyStore(options.dataDir!);
    const app = new PkiApplication(options.stateDir ?? null, options.audit?.retainEntriesMax, options.stateChannel !== undefined);
    const founding = how.mode === 'foundCluster';
    const firstInAz = founding || how.mode === 'foundAz';
    let twoTier: PkiTwoTier;
    try {
      twoTier = await startTwoTier(
        options,
        app,
        how.mode === 'restart' ? undefined : firstInAz ? { voters: [options.nodeId], learners: [], votersOutgoing: [] } : EMPTY,
        how.mode === 'restart' ? undefined : founding ? { voters: [options.az], learners: [], votersOutgoing: [] } : EMPTY,
        // The AZ's seat is ours only once the global leader accepts us as the AZ's founder (foundAz).
        how.mode === 'foundAz',
      );
    } catch (e) {
      await app.close();
      throw e;
    }
    const node = new PkiNode(options, keyStore, app, twoTier);
    try {
      await node.founding.begin(how);
    } catch (e) {
      await node.stop();
      throw e;
    }
    node.maintenance.start();
    return node;
  }

  /**
   * Start-up as docs/spec.md §3 describes, made safe (discovery.ts; docs/architecture.md §5):
   * discover, then found the cluster, found the AZ, or join — or restart when this node has joined
   * before (`hasState`). Discovery repeats until it reaches a decision; a founding or joining
   * attempt that loses a race (e.g. the AZ was founded meanwhile) goes back to discovery.
   */
  static async bootstrap(makeOptions: () => Promise<PkiNodeOptions>, b: BootstrapOptions): Promise<PkiNode> {
    if (b.hasState) return PkiNode.start(await makeOptions(), { mode: 'restart' });
    for (let round = 1; ; round++) {
      const decision = await discover({ probe: b.probe, retries: b.pkiInitRetry, mayFoundCluster: b.mayFoundCluster, pause: (attempt) => b.pause(attempt) });
      if (decision.kind === 'retryLater') {
        await b.pause(round);
        continue;
      }
      const options = await makeOptions();
      const restore = b.restore === undefined ? {} : { restore: b.restore };
      try {
        if (decision.kind === 'foundCluster') {
          return await PkiNode.start(options, { mode: 'foundCluster', clusterId: b.restore?.clusterId ?? b.clusterId, azSpec: b.azSpec, ...(b.rootSubject ? { rootSubject: b.rootSubject } : {}), ...(b.offlineRoot ? { offlineRoot: b.offlineRoot } : {}), ...(b.settings ? { settings: b.settings } : {}), ...restore });
        }
        if (decision.kind === 'foundAz') return await PkiNode.start(options, { mode: 'foundAz', azSpec: b.azSpec, globalLeaderId: decision.globalLeaderId, ...restore });
        return await PkiNode.start(options, { mode: 'join', localLeaderId: decision.localLeaderId });
      } catch (e) {
        // Lost a race (AZ founded by another node, leader moved): nothing of this attempt is
        // kept; `makeOptions` gives the next one fresh storage, transports and key directory.
        if (!(e instanceof PkiError) || !RACE_CODES.has(e.code)) throw e;
        await b.pause(round);
      }
    }
  }

  /** Commits an event this node built and requires it to be accepted (tests commit events through it). */
  commitOk(event: Parameters<Committer['commitOk']>[0], tier?: 'local' | 'global'): Promise<PkiApplyResult> {
    return this.committer.commitOk(event, tier);
  }

  // ---- PkiNodeApi ----

  status(): PkiNodeStatus {
    return this.nodeStatus.status();
  }

  operatorReport(): Promise<OperatorReport> {
    return this.operatorReports.report();
  }

  recentRevocations(countMax: number): Promise<RecentRevocation[]> {
    return this.operatorReports.recentRevocations(countMax);
  }

  clusterMap(since: ClusterMapSince = 0): Promise<ClusterMapDiff> {
    return this.clusterMapView.clusterMap(since);
  }

  caBundle(): Promise<CaBundle> {
    return this.clusterReads.caBundle();
  }

  issue(request: IssueRequest): Promise<IssuedLeaf> {
    return this.issuance.issue(request);
  }

  renew(request: RenewRequest): Promise<IssuedLeaf> {
    return this.issuance.renew(request);
  }

  issueWithToken(token: string, request: TokenIssueRequest): Promise<IssuedLeaf> {
    return this.tokenIssuance.issueWithToken(token, request);
  }

  revoke(request: RevokeRequest): Promise<{ revokedAt: number }> {
    return this.revocation.revoke(request);
  }

  getCertificate(serialHex: string): Promise<CertificateRecord[]> {
    return this.issuance.getCertificate(serialHex);
  }

  getCrl(issuerId: string): Promise<Uint8Array | null> {
    return this.revocation.getCrl(issuerId);
  }

  getDeltaCrl(issuerId: string): Promise<Uint8Array | null> {
    return this.revocation.getDeltaCrl(issuerId);
  }

  getIndirectCrl(azIcaIssuerId: string, partition?: number): Promise<Uint8Array | null> {
    return this.revocation.getIndirectCrl(azIcaIssuerId, partition);
  }

  getPartitionCrl(issuerId: string, partition: number): Promise<Uint8Array | null> {
    return this.revocation.getPartitionCrl(issuerId, partition);
  }

  answerOcsp(requestDer: Uint8Array): Promise<OcspAnswer> {
    return this.ocsp.answer(requestDer);
  }

  getCaCertificate(issuerId: string): Promise<Uint8Array | null> {
    return this.clusterReads.getCaCertificate(issuerId);
  }

  listAzs(): Promise<AzRecord[]> {
    return this.clusterReads.listAzs();
  }

  listNodes(): Promise<NodeRecord[]> {
    return this.clusterReads.listNodes();
  }

  withdrawnNodeIds(): Promise<ReadonlySet<string>> {
    return this.clusterReads.withdrawnNodeIds();
  }

  nodeTlsPins(): Promise<ReadonlyMap<string, string>> {
    return this.clusterReads.nodeTlsPins();
  }

  getNode(nodeId: string): Promise<NodeRecord | undefined> {
    return this.clusterReads.getNode(nodeId);
  }

  azIcaCertificates(): Promise<ReadonlyMap<string, readonly Uint8Array[]>> {
    return this.clusterReads.azIcaCertificates();
  }

  clusterId(): Promise<string | null> {
    return this.clusterReads.clusterId();
  }

  azIcaCertificate(az: string): Promise<Uint8Array | null> {
    return this.clusterReads.azIcaCertificate(az);
  }

  caBundleProof(input: Omit<CaBundleResponseInput, 'store'>): Promise<CaBundleResponseBody> {
    return this.registration.caBundleProof(input);
  }

  acceptRegistration(input: Omit<VerifyRegistrationInput, 'store'>): Promise<AcceptedRegistration> {
    return this.registration.acceptRegistration(input);
  }

  handlePeer(fromNodeId: string, request: PeerRequest): Promise<PeerResponse> {
    return this.peerDispatch.handle(fromNodeId, request);
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

  addProvisioner(input: { name: unknown; publicKey: unknown; policy: unknown }, requestedBy: string): Promise<ProvisionerView> {
    return this.provisionerAdmin.add(input, requestedBy);
  }

  listProvisioners(): Promise<ProvisionerView[]> {
    return this.provisionerAdmin.list();
  }

  removeProvisioner(name: string, requestedBy: string): Promise<void> {
    return this.provisionerAdmin.remove(name, requestedBy);
  }

  addAz(az: AzDeclaration, requestedBy: string): Promise<DeclaredAz> {
    return this.admin.addAz(az, requestedBy);
  }

  removeAz(name: string, requestedBy: string): Promise<RemovedAz> {
    return this.admin.removeAz(name, requestedBy);
  }

  refoundAz(request: RefoundRequest): Promise<RefoundedAz> {
    return this.admin.refoundAz(request);
  }

  backup(): Promise<Uint8Array> {
    return this.backups.takeBackup();
  }

  auditHistory(log: string, since: number, limit: number): Promise<AuditPage> {
    return this.auditHistoryReads.page(log, since, limit);
  }

  rotateRoot(request: { rootSubject?: string } = {}): Promise<RotatedRoot> {
    return this.rootRollover.rotateRoot(request);
  }

  prepareRootRollover(request: { rootSubject?: string } = {}): Promise<PendingRootRollover> {
    return this.rootRollover.prepareOffline(request);
  }

  completeRootRollover(request: { pending: PendingRootRollover; signature: Uint8Array }): Promise<RotatedRoot> {
    return this.rootRollover.completeOffline(request);
  }

  rotateKek(request: { oldKek: Uint8Array; newKek: Uint8Array }): Promise<RotatedKek> {
    return this.kekRotation.rotateKek(request);
  }

  onRoleChange(listener: (e: PkiRoleEvent) => void): () => void {
    this.roleListeners.add(listener);
    return () => this.roleListeners.delete(listener);
  }

  nodeKeys(): NodeKeys | null {
    return this.ctx.ownKeys.get();
  }

  tlsRenewalPending(): Promise<boolean> {
    return this.nodeRenewal.tlsRenewalPending();
  }

  takeUpRenewedTls(certDer: Uint8Array): Promise<boolean> {
    return this.nodeRenewal.takeUpRenewedTls(certDer);
  }

  // ---- inspection (status views, tests, the simulator's checkers) ----

  /** The consensus node underneath (status, tests, the simulator's checkers). */
  get consensus(): TwoTierNode<PkiApplyResult> {
    return this.twoTier;
  }

  /** Health of a node of this AZ, as checked by this node when it is the local leader. */
  healthOf(nodeId: string): HealthState | null {
    return this.membership.healthOf(nodeId);
  }

  /** Other AZs' local leaders, as this node's health checks last saw them. */
  otherAzLeaders(): ReadonlyMap<string, string> {
    return this.membership.otherAzLeaders();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.maintenance.stop();
    await this.vip?.stop();
    await this.twoTier.stop();
    await this.app.close();
  }
}

function startTwoTier(o: PkiNodeOptions, app: PkiApplication, local: ConfState | undefined, global: ConfState | undefined, seatHeld: boolean): Promise<PkiTwoTier> {
  return TwoTierNode.start<PkiApplyResult>({
    nodeId: o.nodeId,
    az: o.az,
    storage: o.storage,
    localTransport: o.localTransport,
    seatTransport: o.seatTransport,
    app,
    ...(o.localRaft ? { localRaft: o.localRaft } : {}),
    globalRaft: validateRaftConfig({ ...DEFAULT_GLOBAL, ...o.globalRaft }),
    tickMs: o.tickMs,
    ...(o.clock ? { clock: o.clock } : {}),
    random: o.random,
    ...(local ? { localInitialConfState: local } : {}),
    ...(global ? { globalInitialConfState: global } : {}),
    ...(o.snapshotEveryEntries !== undefined ? { snapshotEveryEntries: o.snapshotEveryEntries } : {}),
    ...(o.stateChannel && o.stateDir !== undefined ? { stateChannel: o.stateChannel } : {}),
    ...(o.onStateTransfer ? { onStateTransfer: o.onStateTransfer } : {}),
    seatHeld,
  });
}

/** The VIP fences of both leader roles (vip/vip-manager.ts), on the monotonic clock. */
function vipManagerOf(o: PkiNodeOptions, vip: NonNullable<PkiNodeOptions['vip']>, twoTier: PkiTwoTier, monotonicMs: () => number): VipManager {
  const localTicks = validateRaftConfig(o.localRaft ?? {}).electionTimeoutTicks;
  const globalTicks = validateRaftConfig({ ...DEFAULT_GLOBAL, ...o.globalRaft }).electionTimeoutTicks;
  return new VipManager({ ...vip, ...(o.clock ? { clock: o.clock } : {}) }, twoTier, o.tickMs, monotonicMs, localTicks, globalTicks);
}

function ocspLimitsOf(o: PkiNodeOptions) {
  return {
    validitySeconds: o.ocspValiditySeconds ?? DEFAULT_OCSP_VALIDITY_SECONDS,
    responderLifetimeSeconds: o.ocspResponderLifetimeSeconds ?? DEFAULT_OCSP_RESPONDER_LIFETIME_SECONDS,
    cachedAnswersMax: OCSP_CACHED_ANSWERS_MAX,
  };
}

/** The aging limits from the options; live-within is at most half the inactive-after time. */
function agingLimitsOf(o: PkiNodeOptions): AgingLimits {
  const inactiveAfterMs = (o.nodeInactiveAfterSeconds ?? DEFAULT_NODE_INACTIVE_AFTER_SECONDS) * 1000;
  const removeAfterMs = (o.nodeRemoveAfterSeconds ?? DEFAULT_NODE_REMOVE_AFTER_SECONDS) * 1000;
  return { inactiveAfterMs, removeAfterMs, liveWithinMs: Math.min(AGING_LIVE_WITHIN_MS, Math.floor(inactiveAfterMs / 2)) };
}

/** Aging options in bounds, before anything starts (TypeError naming the options). */
function checkAgingOptions(o: PkiNodeOptions): void {
  const { nodeInactiveAfterSeconds: inactive, nodeRemoveAfterSeconds: remove } = o;
  for (const [name, v] of [['nodeInactiveAfterSeconds', inactive], ['nodeRemoveAfterSeconds', remove]] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new TypeError(`PkiNodeOptions.${name} must be a positive integer (seconds)`);
  }
  const limits = agingLimitsOf(o);
  if (limits.removeAfterMs <= limits.inactiveAfterMs) throw new TypeError('PkiNodeOptions.nodeRemoveAfterSeconds must be greater than nodeInactiveAfterSeconds');
}

function auditPolicyOf(o: PkiNodeOptions): AuditCheckpointPolicy {
  return {
    checkpointEverySeconds: o.audit?.checkpointEverySeconds ?? DEFAULT_AUDIT_CHECKPOINT_POLICY.checkpointEverySeconds,
    checkpointEveryCommands: o.audit?.checkpointEveryCommands ?? DEFAULT_AUDIT_CHECKPOINT_POLICY.checkpointEveryCommands,
  };
}

/** OCSP, CRL and audit options in bounds, before anything starts (TypeError naming the option). */
function checkBoundedOptions(o: PkiNodeOptions): void {
  checkOcspLimits(ocspLimitsOf(o));
  checkAuditCheckpointPolicy(auditPolicyOf(o));
  const retain = o.audit?.retainEntriesMax;
  if (retain !== undefined && (!Number.isSafeInteger(retain) || retain < 0)) throw new TypeError('PkiNodeOptions.audit.retainEntriesMax must be a non-negative integer');
  const above = o.crlDeltaAboveBytes;
  if (above !== undefined && (!Number.isSafeInteger(above) || above < 0)) throw new TypeError('PkiNodeOptions.crlDeltaAboveBytes must be a non-negative integer');
  const partitions = o.crlPartitions;
  if (partitions !== undefined && partitions !== 0 && !isCrlPartitionCount(partitions)) {
    throw new TypeError(`PkiNodeOptions.crlPartitions must be 0 or a power of two up to ${CRL_PARTITIONS_MAX}`);
  }
}
