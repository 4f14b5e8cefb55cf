// CRLs kept current, each by the one owner that may sign it (docs/architecture.md §4.5,
// docs/spec.md §10.1): a node ICA's by its node (only it holds the key), the AZ ICA's by the local
// leader under its lease, the root's by the global leader. CRL numbers are checked on apply, so a
// stale owner's publication is rejected alike everywhere. Where certificates name public URLs, a
// complete CRL names its delta CRLs (Freshest CRL) and new revocations go into deltas between two
// complete CRLs (crl-delta.ts); without public URLs every change is a new complete CRL.
import type { PkiStateQueries } from '../../state/queries.ts';
import { caSignerFromRecord, type CaHandle } from '../ca/ca-common.ts';
import { buildCrlEvent, buildDeltaCrlEvent, crlNeedsRefresh } from '../ca/ca-revocation.ts';
import { validCasOf, validRoots } from '../ca/current-ca.ts';
import { deltaCrlUrl, indirectCrlUrl } from '../ca/issuer-urls.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { PublicBaseUrls } from '../ca/public-base-urls.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';
import { planCrl } from './crl-delta.ts';
import { buildIndirectCrlEvent, indirectCrlDue, indirectCrlEntries } from './indirect-crl.ts';

/** The size budget of a delta CRL, hence of the Raft entry carrying it (crl-delta.ts). */
const DELTA_CRL_BYTES_MAX = 64 * 1024;

export class CrlRefresh {
  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'kek' | 'nowMs' | 'ownKeys' | 'crlNextUpdateSeconds' | 'crlDeltaAboveBytes'>,
    private readonly roles: RoleView,
    private readonly state: () => PkiStateQueries,
    private readonly ownCa: OwnCa,
    private readonly urls: PublicBaseUrls,
    private readonly committer: Committer,
    maintenance: MaintenanceRegistry,
  ) {
    maintenance.add({ name: 'node ICA CRL', run: () => this.refreshOwnCrl() });
    maintenance.add({ name: 'AZ ICA CRL', run: async () => (this.roles.hasLocalLease() ? this.refreshAzCrl() : undefined) });
    maintenance.add({ name: 'AZ ICA indirect CRL', run: async () => (this.roles.hasLocalLease() ? this.refreshIndirectCrls() : undefined) });
    maintenance.add({ name: 'root CRL', run: async () => (this.roles.isGlobalLeader() ? this.refreshRootCrl() : undefined) });
  }

  /** Every node ICA of this node still valid, the renewed ones' predecessors included (node/ca/node-renewal.ts). */
  private async refreshOwnCrl(): Promise<void> {
    const signers = await this.ownCa.validSigners(this.ctx.nowMs());
    if (signers.length === 0) return;
    const baseUrl = await this.urls.ofAz(this.ctx.az);
    for (const issuer of signers) await this.refreshCrl(issuer, 'local', baseUrl);
  }

  /** Every AZ ICA of this AZ still valid: a renewed one's predecessor answers for what it signed (node/ca/az-ica-renewal.ts). */
  private async refreshAzCrl(): Promise<void> {
    const recs = validCasOf(await this.state().cas(), { azIcaOf: this.ctx.az }, this.ctx.nowMs());
    if (recs.length === 0) return;
    const baseUrl = await this.urls.ofAz(this.ctx.az);
    for (const rec of recs) await this.refreshCrl(caSignerFromRecord(rec, this.ctx.kek), 'local', baseUrl);
  }

  /**
   * The indirect CRL of every valid AZ ICA of this AZ (indirect-crl.ts). Leaves name it only where
   * certificates carry public URLs, so without a public base URL there is none.
   */
  private async refreshIndirectCrls(): Promise<void> {
    const baseUrl = await this.urls.ofAz(this.ctx.az);
    if (baseUrl === undefined) return;
    const store = this.state();
    const now = this.ctx.nowMs();
    const cas = await store.cas();
    for (const rec of validCasOf(cas, { azIcaOf: this.ctx.az }, now)) {
      const entries = await indirectCrlEntries(store, cas, rec.issuerId);
      const latest = await store.latestIndirectCrl(rec.issuerId);
      if (!indirectCrlDue(latest, entries, now)) continue;
      const azIca = caSignerFromRecord(rec, this.ctx.kek);
      const url = indirectCrlUrl(baseUrl, rec.issuerId);
      await this.committer.commit(await buildIndirectCrlEvent({ azIca, latest, entries, url, nowMs: now, nextUpdateSeconds: this.ctx.crlNextUpdateSeconds }), 'local');
    }
  }

  /** Every root whose key the state holds and that is still valid: a rolled-over root answers for the AZ ICAs it signed (node/ca/root-rollover.ts). */
  private async refreshRootCrl(): Promise<void> {
    for (const root of await validRoots(this.state(), this.ctx.nowMs())) {
      await this.refreshCrl(caSignerFromRecord(root, this.ctx.kek), 'global', this.urls.ofCluster());
    }
  }

  /**
   * Without a public base URL: a new complete CRL when the latest misses a held revocation, or
   * half its validity has passed (crlNeedsRefresh). With one: a complete CRL or a delta (planCrl).
   */
  private async refreshCrl(issuer: CaHandle, tier: 'local' | 'global', baseUrl: string | undefined): Promise<void> {
    const store = this.state();
    const now = this.ctx.nowMs();
    const latest = await store.latestCrl(issuer.issuerId);
    const revoked = await store.listRevoked(issuer.issuerId);
    const build = { issuer, store, nowMs: now, nextUpdateSeconds: this.ctx.crlNextUpdateSeconds };
    if (baseUrl === undefined) {
      if (crlNeedsRefresh({ latest, revoked, nowMs: now })) await this.committer.commit((await buildCrlEvent(build)).event, tier);
      return;
    }
    const delta = await store.latestDeltaCrl(issuer.issuerId);
    const plan = planCrl({ complete: latest, delta, revoked, nowMs: now, deltaAboveBytes: this.ctx.crlDeltaAboveBytes, deltaBytesMax: DELTA_CRL_BYTES_MAX });
    if (plan.kind === 'complete') {
      await this.committer.commit((await buildCrlEvent({ ...build, freshestCrlUrl: deltaCrlUrl(baseUrl, issuer.issuerId) })).event, tier);
    } else if (plan.kind === 'delta') {
      await this.committer.commit(await buildDeltaCrlEvent({ ...build, baseCrlNumber: plan.base.crlNumber, revoked: plan.missing }), tier);
    }
  }
}
