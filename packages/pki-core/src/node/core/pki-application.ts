// The PKI state under the two tiers: a TwoTierApplication that decodes each command as a PKI
// event and applies it to a PkiStateStore, indexed by the two-tier command counter. With a state
// directory the store is LevelDB (state/level-backend.ts): the commands of each applied batch (one
// local Raft Ready, `flush`) and the last one's `seq` are one atomic write, so a restart
// opens the store and the commands the log replays up to that `seq` are skipped
// (TwoTierApplication.appliedSeq). A kill before the write loses only commands the log still
// holds: the log is compacted only into a snapshot, which writes the state first. Without one (simulator, tests) the state
// is in memory and is rebuilt from the Raft snapshot and log at every start.
//
// Which tier an event belongs to is decided here, deterministically, so every replica rejects a
// misplaced event alike. Global (every AZ holds them): the cluster, AZs, root/AZ/node CA
// certificates, node registrations and removals (the cluster map and the refusal of a revoked
// node must hold in every AZ), revocations (the authoritative list), profiles, join tokens.
// Local (the AZ that issued them): leaves, CRLs of node and AZ CAs, expiry sweeps. The root's CRL
// is published globally.
import type { CommandMeta, DurableState, StateInstall, StateView, TwoTierApplication } from '@adrestia/consensus';
import { isPkiError } from '../../errors.ts';
import { decodeEvent } from '../../state/event-codec.ts';
import type { PkiEvent, PkiEventType } from '../../state/events.ts';
import type { ApplyOutcome } from '../../state/outcome.ts';
import { PkiStateStore } from '../../state/store.ts';
import { claimStateDir, type StateDirClaim } from './state-boot-marker.ts';

const TIER_OF: Record<PkiEventType, 'global' | 'local' | 'either'> = {
  ClusterCreated: 'global',
  ClusterSettingsSet: 'global',
  AzAdded: 'global',
  AzDeclared: 'global',
  AzFounded: 'global',
  AzRemovalStarted: 'global',
  AzRemoved: 'global',
  AzRefounded: 'global',
  CaCertificateInstalled: 'global',
  CaKeyRewrapped: 'global',
  RootRolledOver: 'global',
  NodeRegistered: 'global',
  NodeRenewed: 'global',
  NodeRemoved: 'global',
  NodeActivityMarked: 'global',
  Revoked: 'global',
  ProfileSet: 'global',
  ProfileRemoved: 'global',
  JoinTokenIssued: 'global',
  JoinTokenUsed: 'global',
  OcspResponderKeyInstalled: 'global',
  OcspResponderCertified: 'global',
  Issued: 'local',
  ExpiredPruned: 'local',
  CrlPublished: 'either',
  DeltaCrlPublished: 'either',
  IndirectCrlPublished: 'local',
  PartitionCrlPublished: 'either',
  // ACME (docs/architecture.md §15): accounts in every AZ, orders in the AZ that holds them.
  AcmeAccountCreated: 'global',
  AcmeAccountUpdated: 'global',
  AcmeAccountKeyChanged: 'global',
  AcmeEabKeyCreated: 'global',
  AcmeOrderCreated: 'local',
  AcmeChallengeValidated: 'local',
  AcmeAuthzDeactivated: 'local',
  AcmeOrderFinalized: 'local',
  // Provisioners (docs/architecture.md, "Provisioners"): policies hold in every AZ, a token is spent once cluster-wide.
  ProvisionerAdded: 'global',
  ProvisionerRemoved: 'global',
  ProvisionerTokenUsed: 'global',
  // A checkpoint goes in the log it attests (state/audit-events.ts).
  AuditCheckpoint: 'either',
};

export function tierOfEvent(type: PkiEventType): 'global' | 'local' | 'either' {
  return TIER_OF[type];
}

export type PkiApplyResult = ApplyOutcome | null;

export class PkiApplication implements TwoTierApplication<PkiApplyResult> {
  private current: PkiStateStore | null = null;
  /** The state directory's boot record while it is open (state-boot-marker.ts). */
  private claim: StateDirClaim | null = null;

  /**
   * On disk and streamed (`streamed`): Raft snapshots only point at the state, and a replica
   * behind one fetches the state from a peer in chunks (consensus two-tier/state-transfer.ts).
   */
  readonly stateOnDisk: DurableState | undefined;

  /**
   * `stateDir`: the LevelDB directory of the PKI state; null keeps the state in memory.
   * `auditRetainEntriesMax`: history kept before each log's latest checkpoint (state/store.ts); all when absent.
   * `streamed` (with a `stateDir`): snapshots are descriptors and the state travels by state
   * transfer. Every flush is then synced: the local snapshot no longer holds the state, so a
   * state that lost unsynced writes in a crash of the machine could not be rebuilt from it
   * (state-boot-marker.ts).
   */
  constructor(
    private readonly stateDir: string | null = null,
    private readonly auditRetainEntriesMax?: number,
    private readonly streamed = false,
  ) {
    this.stateOnDisk = stateDir !== null && streamed ? this.stateOnDiskAdapter() : undefined;
  }

  private stateOnDiskAdapter(): DurableState {
    return {
      appliedSeq: () => this.appliedSeq(),
      sync: () => this.store.flush({ sync: true }),
      openView: async (chunkBytes: number): Promise<StateView> => {
        const { seq, chunks } = await this.store.snapshotChunks(chunkBytes);
        return {
          seq,
          next: async () => {
            const r = await chunks.next();
            return r.done === true ? null : r.value;
          },
          close: async () => void (await chunks.return(undefined)),
        };
      },
      beginInstall: (): StateInstall => {
        const install = this.store.beginInstall();
        return {
          write: async (chunk) => void (await install.write(chunk)),
          commit: async (minSeq) => {
            if (install.snapshotIndex() < minSeq) {
              await install.abort();
              throw new RangeError(`the state received holds seq ${install.snapshotIndex()}, behind the ${minSeq} wanted`);
            }
            await install.commit();
            return this.appliedSeq();
          },
          abort: () => install.abort(),
        };
      },
    };
  }

  /** The state as applied so far (replaced wholesale by reset and restore). */
  get store(): PkiStateStore {
    if (!this.current) throw new TypeError('PkiApplication: not started');
    return this.current;
  }

  async apply(data: Uint8Array, meta: CommandMeta): Promise<PkiApplyResult> {
    // Replayed after a restart, and already in the state on disk: applied before, nobody waits.
    if (meta.seq <= this.store.appliedIndex()) return null;
    // Every command of a log extends its audit chain, refused ones too (state/audit-chain.ts).
    const audit = { log: meta.tier, bytes: data };
    let event: PkiEvent;
    try {
      event = decodeEvent(data);
    } catch (e) {
      if (!isPkiError(e)) throw e;
      await this.store.applyCommand(null, { index: meta.seq }, audit);
      return { ok: false, error: { code: e.code, message: e.message } };
    }
    const misplaced = await this.misplaced(event, meta.tier);
    if (misplaced) {
      await this.store.applyCommand(null, { index: meta.seq }, audit);
      return { ok: false, error: { code: 'ERR_EVENT_REJECTED', message: misplaced } };
    }
    return this.store.applyCommand(event, { index: meta.seq }, audit);
  }

  private async misplaced(event: PkiEvent, tier: 'local' | 'global'): Promise<string | null> {
    const want = TIER_OF[event.type];
    if (want !== 'either') return want === tier ? null : `${event.type} belongs to the ${want} log`;
    if (event.type === 'AuditCheckpoint') return event.log === tier ? null : `a checkpoint of the ${event.log} log belongs to that log`;
    if (event.type !== 'CrlPublished') return null;
    const ca = await this.store.getCa(event.issuerId);
    // The root's CRL is global; so is the CRL of an AZ ICA whose AZ has no local group to publish
    // it, published by another AZ for every AZ (admin/az-ica-global-crl.ts): the final one of a
    // decommissioned AZ, and one of an AZ re-founded (declared again) before its next founder.
    const phase = ca?.role === 'az' && ca.az !== null ? ((await this.store.getAz(ca.az))?.phase ?? 'removed') : null;
    const globalCrl = ca?.role === 'root' || phase === 'removing' || phase === 'removed' || phase === 'declared';
    return globalCrl === (tier === 'global') ? null : `the CRL of a ${ca?.role ?? 'unknown'} CA belongs to the ${globalCrl ? 'global' : 'local'} log`;
  }

  snapshot(): Promise<Uint8Array> {
    return this.store.snapshot();
  }

  /** In place: callers (the HTTP layer) hold on to `store`. */
  async restore(data: Uint8Array, seq: number): Promise<void> {
    if (!this.current) this.current = await this.openStore();
    await this.current.restore(data, seq);
  }

  /**
   * Called once, when the node starts from its Raft storage (before anyone reads the state). A
   * state on disk is kept: it holds exactly the commands through `appliedSeq()` of this node's
   * log, which the replay then skips.
   */
  async reset(): Promise<void> {
    if (this.current) throw new TypeError('PkiApplication: already started');
    this.current = await this.openStore();
  }

  /** On disk: writes the commands applied since the last flush with their `seq`, in one write. */
  flush(): Promise<void> | undefined {
    return this.stateDir === null ? undefined : this.store.flush({ sync: this.streamed || (this.claim?.syncEachFlush ?? true) });
  }

  /** The `seq` of the last command in the state (0 before the node started). */
  appliedSeq(): number {
    return this.current?.appliedIndex() ?? 0;
  }

  /**
   * Releases the state on disk (its directory may then be opened again). A state in memory holds
   * nothing to release and stays readable: the simulator's checks read stopped nodes.
   */
  async close(): Promise<void> {
    if (this.stateDir === null) return;
    const store = this.current;
    const claim = this.claim;
    this.current = null;
    this.claim = null;
    await store?.close(); // synced: nothing unsynced is left for the boot record to answer for
    await claim?.release();
  }

  private async openStore(): Promise<PkiStateStore> {
    const retain = this.auditRetainEntriesMax === undefined ? {} : { auditRetainEntriesMax: this.auditRetainEntriesMax };
    if (this.stateDir === null) return PkiStateStore.inMemory(retain);
    const claim = await claimStateDir(this.stateDir);
    const store = await PkiStateStore.open(this.stateDir, { writeOnApply: false, ...retain });
    // Streamed, every write is synced: what an earlier run left unsynced was recovered by
    // LevelDB's open (written to synced table files), so nothing is left to answer for.
    if (this.streamed) await claim.release();
    else this.claim = claim;
    return store;
  }
}
