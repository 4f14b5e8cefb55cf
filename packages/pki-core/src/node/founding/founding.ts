// How a node comes to be part of the cluster (docs/architecture.md §5.2; discovery.ts decides):
// it founds the cluster (root, first AZ, both leader roles), founds a new AZ through the global
// leader, joins an existing AZ through its local leader, or restarts from its storage and keys.
// On the global leader it also answers a founder's `foundAz`: the AZ, its AZ ICA and its seat.
import type { CaKeyType } from '../../ca/keys.ts';
import { PkiError } from '../../errors.ts';
import type { AzSpec, CaCertificateInstalledEvent, ClusterSettings, NodeAddresses } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { checkAzMatches } from '../admin/index.ts';
import { caSignerFromRecord, type CaHandle } from '../ca/ca-common.ts';
import { endpointHost, makeNodeCsrs } from '../ca/ca-node-keys.ts';
import type { PublicBaseUrls } from '../ca/public-base-urls.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import { asPkiCode } from '../core/event-proposer.ts';
import type { PkiTwoTier } from '../core/roles.ts';
import type { PeerRequest, PeerResponse } from '../peer/protocol.ts';
import { signNodeRegistration, type NodeRegistrationRequest } from '../registration/index.ts';
import { clusterCreatedEvent, createAzIntermediate, foundCluster } from './ca-found.ts';
import { completeOfflineAzIntermediate, type PendingAzIntermediate } from './ca-offline-root.ts';
import { nodeVips } from '../ca/reserved-names.ts';
import { currentCa } from '../ca/current-ca.ts';
import type { ClusterBackup } from '../admin/backup-file.ts';
import { encodeEvent } from '../../state/event-codec.ts';
import { RestoredAz, restoredCaEvents } from './restored-az.ts';

export type PkiNodeStart =
  /** The first node of a new cluster: root, first AZ, both leader roles. */
  | { mode: 'foundCluster'; clusterId: string; azSpec: AzSpec; rootSubject?: string; keyType?: CaKeyType; restore?: ClusterBackup; offlineRoot?: OfflineRootFounding; settings?: ClusterSettings }
  /** The first node of a new AZ: asks the global leader to add the AZ, then registers itself. */
  | { mode: 'foundAz'; azSpec: AzSpec; globalLeaderId: string; restore?: ClusterBackup }
  /** A node whose registration the AZ's local leader accepted (`register` peer request or HTTPS). */
  | { mode: 'join'; localLeaderId: string }
  /** A node restarting from its storage and key files. */
  | { mode: 'restart' };

/**
 * A cluster founded on a root held offline (ca-offline-root.ts): the root's certificate, and the
 * first AZ's ICA prepared under it (`prepareOfflineAzIntermediate`, with this node's KEK) with the
 * offline root's signature over its TBS. The state then holds no root key.
 */
export interface OfflineRootFounding {
  readonly rootCert: Uint8Array;
  readonly pending: PendingAzIntermediate;
  readonly signature: Uint8Array;
}

/** How long start-up waits for a role it campaigned for, in ticks. */
const ROLE_WAIT_TICKS = 2000;

type FoundingContext = Pick<
  NodeContext,
  'nodeId' | 'az' | 'addresses' | 'globalVip' | 'kek' | 'caKeyType' | 'keyStore' | 'ownKeys' | 'peers' | 'random' | 'nowMs' | 'isStopped' | 'sleepTicks' | 'onError' | 'crlPartitions'
>;

export class Founding {
  constructor(
    private readonly ctx: FoundingContext,
    private readonly twoTier: Pick<PkiTwoTier, 'campaignLocal' | 'campaignGlobal' | 'releaseSeat' | 'isLocalLeader' | 'isGlobalLeader' | 'status'>,
    private readonly state: () => PkiStateQueries,
    private readonly urls: PublicBaseUrls,
    private readonly committer: Committer,
    /** Signs and commits a node's registration with its AZ ICA (registration/). */
    private readonly registerWith: (azIca: CaHandle, r: NodeRegistrationRequest) => Promise<PeerResponse>,
    /** Queues a founded AZ's seat for the global group (membership/). */
    private readonly addSeat: (az: string) => void,
  ) {}

  /** The start-up work of `how`, once the tiers run. */
  async begin(how: PkiNodeStart): Promise<void> {
    if (how.mode === 'foundCluster') await this.foundCluster(how);
    else if (how.mode === 'foundAz') await this.foundAz(how);
    else if (how.mode === 'join') await this.join(how);
    else this.ctx.ownKeys.set(await this.ctx.keyStore.loadNodeKeys());
  }

  private async foundCluster(how: Extract<PkiNodeStart, { mode: 'foundCluster' }>): Promise<void> {
    const o = this.ctx;
    this.twoTier.campaignLocal();
    await this.waitFor('seat active', () => this.twoTier.status().seat !== null);
    this.twoTier.campaignGlobal();
    await this.waitFor('global leader', () => this.twoTier.isGlobalLeader());
    if (how.restore !== undefined) return this.restoreCluster(how.restore, how.azSpec);
    if (how.offlineRoot !== undefined) return this.foundOnOfflineRoot(how.clusterId, how.azSpec, how.offlineRoot, how.settings);
    const founded = await foundCluster({
      clusterId: how.clusterId,
      rootSubject: how.rootSubject ?? `CN=Adrestia Root CA,OU=${how.clusterId}`,
      azSpec: how.azSpec,
      keyType: how.keyType ?? o.caKeyType,
      generateKey: o.keyStore.generateCaKey,
      rootPublicBaseUrl: this.urls.ofCluster(),
      kek: o.kek.wrapKek(),
      nowMs: o.nowMs(),
      serials: o.random,
      ...(how.settings === undefined ? {} : { settings: how.settings }),
    });
    for (const ev of founded.events) await this.committer.commitOk(ev, 'global');
    await this.registerSelf(founded.azIca);
  }

  /** ClusterCreated without a root key, the first AZ, and its ICA signed by the offline root (docs/architecture.md §4.2). */
  private async foundOnOfflineRoot(clusterId: string, azSpec: AzSpec, offline: OfflineRootFounding, settings: ClusterSettings | undefined): Promise<void> {
    const o = this.ctx;
    if (offline.pending.az !== azSpec.name) throw new PkiError('ERR_AZ_MISMATCH', `the offline AZ ICA was prepared for ${offline.pending.az}, not ${azSpec.name}`, { field: 'offlineRoot' });
    const nowMs = o.nowMs();
    const made = completeOfflineAzIntermediate({ pending: offline.pending, signature: offline.signature, rootCert: offline.rootCert, kek: o.kek.wrapKek(), nowMs });
    const root = { cert: offline.rootCert, issuerId: offline.pending.rootIssuerId };
    const events = [clusterCreatedEvent({ clusterId, root, settings, nowMs }), { type: 'AzAdded' as const, az: azSpec, at: nowMs }, made.event];
    for (const ev of events) await this.committer.commitOk(ev, 'global');
    await this.registerSelf(made.azIca);
  }

  private async foundAz(how: Extract<PkiNodeStart, { mode: 'foundAz' }>): Promise<void> {
    const o = this.ctx;
    this.twoTier.campaignLocal();
    await this.waitFor('local leader', () => this.twoTier.isLocalLeader());
    // The global leader signs this node's certificates with the new AZ ICA in the same request:
    // over real transports the seat can learn the global log only once the node has them. The
    // seat stays held until then: a sibling founding the AZ at the same moment may be the one
    // accepted, and the AZ's seat messages must reach one local group only.
    const keys = await o.keyStore.createNodeKeys(o.caKeyType);
    const csrs = makeNodeCsrs({ keys, nodeId: o.nodeId, az: o.az, hosts: hostsOf(o.addresses) });
    const restored = how.restore === undefined ? null : await RestoredAz.open(how.restore, o.az);
    const restoredCas = restored === null ? {} : { restoredCas: (await restored.caEvents()).map(encodeEvent) };
    const answer = await o.peers.call(how.globalLeaderId, { kind: 'foundAz', az: how.azSpec, nodeId: o.nodeId, addresses: o.addresses, ...csrs, ...restoredCas });
    if (answer.kind === 'error') throw new PkiError(asPkiCode(answer.code), `founding AZ ${how.azSpec.name} refused: ${answer.message}`);
    if (answer.kind !== 'registered') throw new PkiError('ERR_EVENT_REJECTED', `unexpected answer ${answer.kind} to foundAz`);
    o.ownKeys.set(keys);
    this.twoTier.releaseSeat();
    // The AZ's own records follow once the global log brought its CAs here (restored-az.ts).
    if (restored !== null) void restored.commitLocal(this.restoreContext()).catch((e: unknown) => o.onError(e));
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
    const o = this.ctx;
    const keys = await o.keyStore.createNodeKeys(o.caKeyType);
    const csrs = makeNodeCsrs({ keys, nodeId: o.nodeId, az: o.az, hosts: hostsOf(o.addresses) });
    const answer = await o.peers.call(how.localLeaderId, { kind: 'register', nodeId: o.nodeId, az: o.az, addresses: o.addresses, ...csrs });
    if (answer.kind === 'error') throw new PkiError(asPkiCode(answer.code), `registration refused: ${answer.message}`);
    if (answer.kind !== 'registered') throw new PkiError('ERR_EVENT_REJECTED', `unexpected registration answer ${answer.kind}`);
    o.ownKeys.set(keys);
  }

  /** The founder of a cluster or AZ signs its own node ICA with the AZ ICA it holds. */
  private async registerSelf(azIca: CaHandle): Promise<void> {
    const o = this.ctx;
    const keys = await o.keyStore.createNodeKeys(o.caKeyType);
    o.ownKeys.set(keys);
    const csrs = makeNodeCsrs({ keys, nodeId: o.nodeId, az: o.az, hosts: hostsOf(o.addresses) });
    const signed = await signNodeRegistration({
      azIca,
      ...csrs,
      nodeId: o.nodeId,
      az: o.az,
      addresses: o.addresses,
      nowMs: o.nowMs(),
      serials: o.random,
      publicBaseUrl: await this.urls.ofAz(o.az),
      crlPartitions: o.crlPartitions,
      vips: await nodeVips(this.state(), o.globalVip, o.az),
    });
    for (const ev of signed.events) await this.committer.commitOk(ev, 'global');
  }

  /** A founder's `foundAz`, which only the global leader answers (it commits the AZ globally). */
  async answerFoundAz(request: Extract<PeerRequest, { kind: 'foundAz' }>): Promise<PeerResponse> {
    if (!this.twoTier.isGlobalLeader()) throw new PkiError('ERR_NOT_LEADER', `${this.ctx.nodeId} is not the global leader`);
    return this.createAz(request);
  }

  /**
   * On the global leader (peer `foundAz`): the AZ with this node as its founder — `AzAdded` for
   * an AZ the cluster does not know, `AzFounded` for one an admin declared (the node must be
   * configured as declared: ERR_AZ_MISMATCH) — then the AZ ICA, and the AZ's seat as a learner.
   * Idempotent for the founder (a lost answer is retried); any other node is refused, so one AZ
   * never has two local groups acting for its seat: the global log decides who founded it.
   */
  private async createAz(request: Extract<PeerRequest, { kind: 'foundAz' }>): Promise<PeerResponse> {
    const { az, nodeId: founderNodeId } = request;
    const store = this.state();
    const cluster = await store.cluster();
    if (!cluster) throw new PkiError('ERR_NOT_FOUND', 'no cluster yet');
    await this.claimFounder(az, founderNodeId);
    // A restore (restore-plan.ts step 1): the AZ's CAs from the backup, its AZ ICA among them.
    if (request.restoredCas !== undefined) {
      for (const event of restoredCaEvents(request.restoredCas, az.name, this.ctx.kek.wrapKek())) await this.commitUnlessThere(event);
    }
    // A removed AZ's ICA stays in the state, revoked; a later AZ of the same name gets its own.
    let azIcaRecord = currentCa(await store.cas(), { azIcaOf: az.name }, this.ctx.nowMs());
    if (!azIcaRecord) {
      await this.newAzIca(az.name);
      azIcaRecord = currentCa(await store.cas(), { azIcaOf: az.name }, this.ctx.nowMs())!;
    }
    this.addSeat(az.name);
    return this.registerWith(caSignerFromRecord(azIcaRecord, this.ctx.kek), { ...request, az: az.name });
  }

  /**
   * A new AZ ICA for `azName` under the cluster root, its key wrapped under the KEK, committed
   * globally: at founding, and when an AZ is re-founded (admin/az-refound.ts). Its issuer id.
   */
  async newAzIca(azName: string): Promise<string> {
    const store = this.state();
    const cluster = await store.cluster();
    if (!cluster) throw new PkiError('ERR_NOT_FOUND', 'no cluster yet');
    const root = caSignerFromRecord((await store.getCa(cluster.rootIssuerId))!, this.ctx.kek);
    const { event } = await createAzIntermediate({
      root,
      az: azName,
      clusterId: cluster.clusterId,
      kek: this.ctx.kek.wrapKek(),
      nowMs: this.ctx.nowMs(),
      serials: this.ctx.random,
      keyType: this.ctx.caKeyType,
      generateKey: this.ctx.keyStore.generateCaKey,
      rootPublicBaseUrl: this.urls.ofCluster(),
    });
    await this.committer.commitOk(event, 'global');
    return event.issuerId;
  }

  /** Commits `AzAdded` or `AzFounded` naming the founder, unless the state already names it. */
  private async claimFounder(az: AzSpec, founderNodeId: string): Promise<void> {
    const store = this.state();
    const existing = await store.getAz(az.name);
    if (existing?.phase === 'removing') throw new PkiError('ERR_AZ_REMOVING', `AZ ${az.name} is being removed`);
    if (existing && existing.phase !== 'declared' && existing.founderNodeId !== founderNodeId) {
      throw new PkiError('ERR_ALREADY_EXISTS', `AZ ${az.name} exists (founded by ${existing.founderNodeId ?? 'the cluster founder'}); join it through its local leader`);
    }
    if (existing) checkAzMatches(existing, az);
    if (existing?.founderNodeId === founderNodeId) return;
    const at = this.ctx.nowMs();
    const event = existing ? { type: 'AzFounded' as const, name: az.name, founderNodeId, at } : { type: 'AzAdded' as const, az, founderNodeId, at };
    const outcome = await this.committer.commitRetrying(event, 'global');
    // A retried commit may find its own first attempt applied: the state names this founder.
    if (!outcome.ok && (await store.getAz(az.name))?.founderNodeId !== founderNodeId) {
      throw new PkiError(outcome.error.code, `${event.type} rejected: ${outcome.error.message}`);
    }
  }

  /**
   * A cluster founded from a backup (restore-plan.ts): the backed-up cluster and this AZ's CAs,
   * this node registered with the backed-up AZ ICA, then this AZ's own records.
   */
  private async restoreCluster(backup: ClusterBackup, azSpec: AzSpec): Promise<void> {
    const o = this.ctx;
    const restored = await RestoredAz.open(backup, o.az);
    for (const event of await restored.clusterEvents(azSpec, o.nowMs())) await this.committer.commitOk(event, 'global');
    for (const event of await restored.caEvents()) await this.committer.commitOk(event, 'global');
    const azIca = currentCa(await this.state().cas(), { azIcaOf: o.az }, o.nowMs());
    if (azIca === undefined) throw new PkiError('ERR_INPUT_INVALID', `the backup holds no valid AZ ICA of ${o.az}`, { field: 'backup' });
    await this.registerSelf(caSignerFromRecord(azIca, o.kek));
    await restored.commitLocal(this.restoreContext());
  }

  private restoreContext() {
    return { committer: this.committer, state: this.state, waitFor: <T>(what: string, check: () => Promise<T | null | undefined | false>) => this.waitFor(what, check) };
  }

  /** A retried `foundAz` finds the CAs it restored before: ERR_ALREADY_EXISTS then means done. */
  private async commitUnlessThere(event: CaCertificateInstalledEvent): Promise<void> {
    const outcome = await this.committer.commitRetrying(event, 'global');
    if (!outcome.ok && outcome.error.code !== 'ERR_ALREADY_EXISTS') throw new PkiError(outcome.error.code, `restoring CA ${event.issuerId}: ${outcome.error.message}`);
  }

  private async waitFor<T>(what: string, check: () => T | null | undefined | false | Promise<T | null | undefined | false>, ticks = ROLE_WAIT_TICKS): Promise<T> {
    for (let i = 0; i < ticks; i++) {
      if (this.ctx.isStopped()) throw new PkiError('ERR_STOPPED', `stopped while waiting for ${what}`);
      const v = await check();
      if (v) return v;
      await this.ctx.sleepTicks(1);
    }
    throw new PkiError('ERR_TIMEOUT', `timed out waiting for ${what}`);
  }
}

function hostsOf(addresses: NodeAddresses): string[] {
  return [...new Set([endpointHost(addresses.api), endpointHost(addresses.raft)])];
}
