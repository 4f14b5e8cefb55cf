// CRLs kept current, each by the one owner that may sign it (docs/architecture.md §4.5,
// docs/spec.md §10.1): a node ICA's by its node (only it holds the key), the AZ ICA's by the local
// leader under its lease, the root's by the global leader. CRL numbers are checked on apply, so a
// stale owner's publication is rejected alike everywhere.
import type { PkiStateQueries } from '../../state/queries.ts';
import { caSignerFromRecord, type CaHandle } from '../ca/ca-common.ts';
import { buildCrlEvent, crlNeedsRefresh } from '../ca/ca-revocation.ts';
import { validCasOf } from '../ca/current-ca.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';

export class CrlRefresh {
  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'kek' | 'nowMs' | 'ownKeys' | 'crlNextUpdateSeconds'>,
    private readonly roles: RoleView,
    private readonly state: () => PkiStateQueries,
    private readonly ownCa: OwnCa,
    private readonly committer: Committer,
    maintenance: MaintenanceRegistry,
  ) {
    maintenance.add({ name: 'node ICA CRL', run: () => this.refreshOwnCrl() });
    maintenance.add({ name: 'AZ ICA CRL', run: async () => (this.roles.hasLocalLease() ? this.refreshAzCrl() : undefined) });
    maintenance.add({ name: 'root CRL', run: async () => (this.roles.isGlobalLeader() ? this.refreshRootCrl() : undefined) });
  }

  /** Every node ICA of this node still valid, the renewed ones' predecessors included (node/ca/node-renewal.ts). */
  private async refreshOwnCrl(): Promise<void> {
    for (const issuer of await this.ownCa.validSigners(this.ctx.nowMs())) await this.refreshCrl(issuer, 'local');
  }

  /** Every AZ ICA of this AZ still valid: a renewed one's predecessor answers for what it signed (node/ca/az-ica-renewal.ts). */
  private async refreshAzCrl(): Promise<void> {
    for (const rec of validCasOf(await this.state().cas(), { azIcaOf: this.ctx.az }, this.ctx.nowMs())) {
      await this.refreshCrl(caSignerFromRecord(rec, this.ctx.kek), 'local');
    }
  }

  private async refreshRootCrl(): Promise<void> {
    const store = this.state();
    const cluster = await store.cluster();
    const root = cluster ? await store.getCa(cluster.rootIssuerId) : undefined;
    if (root?.wrappedKey) await this.refreshCrl(caSignerFromRecord(root, this.ctx.kek), 'global');
  }

  /** A new CRL when the latest misses a held revocation, or half its validity has passed (crlNeedsRefresh). */
  private async refreshCrl(issuer: CaHandle, tier: 'local' | 'global'): Promise<void> {
    const store = this.state();
    const now = this.ctx.nowMs();
    const latest = await store.latestCrl(issuer.issuerId);
    const revoked = await store.listRevoked(issuer.issuerId);
    if (!crlNeedsRefresh({ latest, revoked, nowMs: now })) return;
    const { event } = await buildCrlEvent({ issuer, store, nowMs: now, nextUpdateSeconds: this.ctx.crlNextUpdateSeconds });
    await this.committer.commit(event, tier);
  }
}
