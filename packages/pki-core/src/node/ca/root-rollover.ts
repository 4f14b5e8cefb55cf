// Root rollover (docs/architecture.md "Root rollover and KEK rotation"): a new root key and
// self-signed certificate, wrapped under the KEK like the first root (founding/ca-found.ts), and a
// cross certificate each way between the old and the new root (RFC 4158 §2.3), committed as one
// `RootRolledOver`; then every AZ ICA is re-issued under the new root by the AZ ICA renewal path
// (az-ica-renewal.ts). Nothing under the old root is revoked: its AZ and node ICAs keep signing
// until their successors take over, and its CRL stays current until the last certificate under it
// expires. Relying parties that trust either root verify either chain through a cross certificate:
//   leaf → node ICA → old AZ ICA → [old root signed by new root] → new root
//   leaf → node ICA → new AZ ICA → [new root signed by old root] → old root
// Under a root held offline the cross certificate the old root signs is signed out of band
// (root-rollover-offline.ts: prepareOffline, the operator's signature, completeOffline).
import { PkiError } from '../../errors.ts';
import type { RootRolledOverEvent, CrossCertificate } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord } from '../../state/records.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import type { AzIcaRenewal } from './az-ica-renewal.ts';
import { caSignerFromRecord } from './ca-common.ts';
import type { PublicBaseUrls } from './public-base-urls.ts';
import { completeOfflineRootRollover, prepareOfflineRootRollover, type PendingRootRollover } from './root-rollover-offline.ts';
import { buildRootRollover, rolledRootSubject, type BuildRootRolloverInput } from './rollover-certs.ts';

/** What `rotateRoot` did: the roots before and after, and the AZ ICAs it re-issued under the new one. */
export interface RotatedRoot {
  readonly previousRootIssuerId: string;
  readonly rootIssuerId: string;
  readonly rootCertDer: Uint8Array;
  readonly crossCertificates: readonly CrossCertificate[];
  readonly azIcas: readonly { az: string; issuerId: string }[];
}

/** The global leader's part of a rollover: it holds the root key (caSignerFromRecord). */
export class RootRollover {
  constructor(
    private readonly ctx: Pick<NodeContext, 'kek' | 'nowMs' | 'random' | 'caKeyType' | 'keyStore'>,
    private readonly roles: RoleView,
    private readonly state: () => PkiStateQueries,
    private readonly urls: PublicBaseUrls,
    private readonly committer: Committer,
    private readonly azIcas: Pick<AzIcaRenewal, 'reissueUnderRoot'>,
  ) {}

  /**
   * Commits `RootRolledOver`, then re-issues every AZ ICA under the new root; answers once all are
   * committed. ERR_ROOT_OFFLINE when the state holds no key of the current root: then
   * `prepareOffline` and `completeOffline` (root-rollover-offline.ts) roll it over.
   */
  async rotateRoot(request: { rootSubject?: string } = {}): Promise<RotatedRoot> {
    const { current, input } = await this.begin(request);
    if (current.wrappedKey === null) {
      throw new PkiError('ERR_ROOT_OFFLINE', 'the root is held outside the cluster (offline root): its cross certificate is signed offline (prepare, sign, complete)', { field: 'wrappedKey' });
    }
    const built = await buildRootRollover({ ...input, previous: caSignerFromRecord(current, this.ctx.kek) });
    return this.commit(built.event);
  }

  /** Step 1 under an offline root: the new root (key sealed) and the TBS its cross certificate needs signed; nothing is proposed. */
  async prepareOffline(request: { rootSubject?: string } = {}): Promise<PendingRootRollover> {
    const { current, input } = await this.begin(request);
    if (current.wrappedKey !== null) throw new PkiError('ERR_INPUT_INVALID', 'the cluster holds its root key: a rollover needs no offline step', { field: 'pending' });
    return prepareOfflineRootRollover({ ...input, previousCertDer: current.certDer });
  }

  /** Step 3 under an offline root: checks the offline signature, commits `RootRolledOver`, re-issues every AZ ICA. */
  async completeOffline(request: { pending: PendingRootRollover; signature: Uint8Array }): Promise<RotatedRoot> {
    const { current, input } = await this.begin({});
    const event = await completeOfflineRootRollover({ ...input, pending: request.pending, signature: request.signature, previousCertDer: current.certDer, kek: this.ctx.kek });
    return this.commit(event);
  }

  /** The cluster's current root and what building its successor takes (the global leader only). */
  private async begin(request: { rootSubject?: string }): Promise<{ current: CaRecord; input: Omit<BuildRootRolloverInput, 'previous'> }> {
    if (!this.roles.isGlobalLeader()) throw new PkiError('ERR_NOT_LEADER', 'a root rollover runs on the global leader (it holds the root key)');
    const store = this.state();
    const cluster = await store.cluster();
    const current = cluster === undefined ? undefined : await store.getCa(cluster.rootIssuerId);
    if (cluster === undefined || current === undefined) throw new PkiError('ERR_NOT_FOUND', 'this node holds no cluster yet');
    const generation = (await store.cas()).filter((ca) => ca.role === 'root').length + 1;
    const baseUrl = this.urls.ofCluster();
    return {
      current,
      input: {
        rootSubject: request.rootSubject ?? rolledRootSubject(cluster.clusterId, generation),
        kek: this.ctx.kek.wrapKek(),
        nowMs: this.ctx.nowMs(),
        serials: this.ctx.random,
        keyType: this.ctx.caKeyType,
        generateKey: this.ctx.keyStore.generateCaKey,
        ...(baseUrl === undefined ? {} : { rootPublicBaseUrl: baseUrl }),
      },
    };
  }

  private async commit(event: RootRolledOverEvent): Promise<RotatedRoot> {
    await this.committer.commitOk(event, 'global');
    const azIcas = await this.azIcas.reissueUnderRoot();
    return { previousRootIssuerId: event.previousRootIssuerId, rootIssuerId: event.rootIssuerId, rootCertDer: event.rootCertDer, crossCertificates: event.crossCertificates, azIcas };
  }
}
