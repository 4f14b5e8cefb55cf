// CRLs kept current, each by the one owner that may sign it (docs/architecture.md §4.5,
// docs/spec.md §10.1): a node ICA's by its node (only it holds the key), the AZ ICA's by the local
// leader under its lease, the root's by the global leader. CRL numbers are checked on apply, so a
// stale owner's publication is rejected alike everywhere. Where certificates name public URLs, a
// complete CRL names its delta CRLs (Freshest CRL) and new revocations go into deltas between two
// complete CRLs (crl-delta.ts); without public URLs every change is a new complete CRL. A node
// ICA created with partition CRLs also publishes those where certificates name public URLs
// (crl-partitions.ts), and its leaves name them; its complete CRL stays for relying parties that
// fetch it by hand, but only within the partition budget: one over it is refused, never committed.
import { isPkiError } from '../../errors.ts';
import { CRL_PARTITION_BYTES_MAX, partitionCrlKey } from '../../state/crl-partitions.ts';
import { indirectCrlKey } from '../../state/indirect-crl-key.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { caSignerFromRecord, type CaHandle } from '../ca/ca-common.ts';
import { buildCrlEvent, buildDeltaCrlEvent, crlNeedsRefresh } from '../ca/ca-revocation.ts';
import { validCasOf, validRoots } from '../ca/current-ca.ts';
import { deltaCrlUrl, indirectCrlUrl, partitionCrlUrl } from '../ca/issuer-urls.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { PublicBaseUrls } from '../ca/public-base-urls.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';
import { planCrl } from './crl-delta.ts';
import { buildPartitionCrlEvent, duePartitions } from './crl-partitions.ts';
import { buildIndirectCrlEvent, dueIndirectPartitions, indirectCrlDue, indirectCrlEntries, indirectPartitionCount, splitIndirectEntries } from './indirect-crl.ts';

/** The size budget of a delta CRL, hence of the Raft entry carrying it (crl-delta.ts). */
const DELTA_CRL_BYTES_MAX = 64 * 1024;
/**
 * Partition CRLs one node ICA signs per maintenance round at most: a new node ICA's first round
 * would otherwise commit all of them (256 by default) before any other scheduled work. Partitions
 * missing a revocation come first (duePartitions), so a revocation waits for no empty partition.
 */
const PARTITION_CRLS_PER_ROUND_MAX = 32;

export class CrlRefresh {
  /** CRLs refused over their budget, by crls key, with the revocation count they were refused at (refusingOverBudget). */
  private readonly overBudget = new Map<string, number>();

  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'kek' | 'nowMs' | 'ownKeys' | 'crlNextUpdateSeconds' | 'crlDeltaAboveBytes' | 'onError'>,
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
    for (const issuer of signers) {
      const partitions = (await this.state().getCa(issuer.issuerId))?.crlPartitions;
      if (partitions === undefined) {
        await this.refreshCrl(issuer, 'local', baseUrl);
        continue;
      }
      if (baseUrl !== undefined) await this.refreshPartitionCrls(issuer, partitions, baseUrl);
      const revoked = (await this.state().listRevoked(issuer.issuerId)).length;
      await this.refusingOverBudget(issuer.issuerId, revoked, () => this.refreshCrl(issuer, 'local', baseUrl, CRL_PARTITION_BYTES_MAX));
    }
  }

  /**
   * Runs `publish`, reporting an ERR_CRL_OVER_BUDGET refusal (ctx.onError, the server logs it).
   * A CRL refused with n entries would be refused with as many or more, so it is signed again
   * only once fewer are held (entries leave at expiry, RFC 5280 §3.3).
   */
  private async refusingOverBudget(crlKey: string, revoked: number, publish: () => Promise<void>): Promise<void> {
    const refusedAt = this.overBudget.get(crlKey);
    if (refusedAt !== undefined && revoked >= refusedAt) return;
    try {
      await publish();
      this.overBudget.delete(crlKey);
    } catch (e) {
      if (!isPkiError(e) || e.code !== 'ERR_CRL_OVER_BUDGET') throw e;
      this.ctx.onError(e);
      this.overBudget.set(crlKey, revoked);
    }
  }

  /**
   * The due partition CRLs of a node ICA (crl-partitions.ts), at most PARTITION_CRLS_PER_ROUND_MAX.
   * One over its budget is refused and reported (ERR_CRL_OVER_BUDGET); the others still go out.
   */
  private async refreshPartitionCrls(issuer: CaHandle, partitions: number, baseUrl: string): Promise<void> {
    const now = this.ctx.nowMs();
    const due = await duePartitions(this.state(), issuer.issuerId, partitions, now);
    for (const d of due.slice(0, PARTITION_CRLS_PER_ROUND_MAX)) {
      const url = partitionCrlUrl(baseUrl, issuer.issuerId, d.partition);
      await this.refusingOverBudget(partitionCrlKey(issuer.issuerId, d.partition), d.revoked.length, async () => {
        await this.committer.commit(await buildPartitionCrlEvent({ issuer, due: d, url, nowMs: now, nextUpdateSeconds: this.ctx.crlNextUpdateSeconds }), 'local');
      });
    }
  }

  /** Every AZ ICA of this AZ still valid: a renewed one's predecessor answers for what it signed (node/ca/az-ica-renewal.ts). */
  private async refreshAzCrl(): Promise<void> {
    const recs = validCasOf(await this.state().cas(), { azIcaOf: this.ctx.az }, this.ctx.nowMs());
    if (recs.length === 0) return;
    const baseUrl = await this.urls.ofAz(this.ctx.az);
    for (const rec of recs) await this.refreshCrl(caSignerFromRecord(rec, this.ctx.kek), 'local', baseUrl);
  }

  /**
   * The indirect CRL of every valid AZ ICA of this AZ (indirect-crl.ts), and the due partitions of
   * it, at most PARTITION_CRLS_PER_ROUND_MAX a round, each refused over its budget. Leaves name them
   * only where certificates carry public URLs, so without a public base URL there are none.
   */
  private async refreshIndirectCrls(): Promise<void> {
    const baseUrl = await this.urls.ofAz(this.ctx.az);
    if (baseUrl === undefined) return;
    const store = this.state();
    const now = this.ctx.nowMs();
    const cas = await store.cas();
    for (const rec of validCasOf(cas, { azIcaOf: this.ctx.az }, now)) {
      const { unpartitioned, partitions } = splitIndirectEntries(await indirectCrlEntries(store, cas, rec.issuerId), indirectPartitionCount(cas, rec.issuerId));
      const latest = await store.latestIndirectCrl(rec.issuerId);
      const due = await dueIndirectPartitions(store, rec.issuerId, partitions, now);
      const whole = indirectCrlDue(latest, unpartitioned, now);
      if (!whole && due.length === 0) continue;
      const azIca = caSignerFromRecord(rec, this.ctx.kek);
      const build = { azIca, nowMs: now, nextUpdateSeconds: this.ctx.crlNextUpdateSeconds };
      if (whole) await this.committer.commit(await buildIndirectCrlEvent({ ...build, latest, entries: unpartitioned, url: indirectCrlUrl(baseUrl, rec.issuerId) }), 'local');
      for (const d of due.slice(0, PARTITION_CRLS_PER_ROUND_MAX)) {
        const url = indirectCrlUrl(baseUrl, rec.issuerId, d.partition);
        await this.refusingOverBudget(indirectCrlKey(rec.issuerId, d.partition), d.entries.length, async () => {
          await this.committer.commit(await buildIndirectCrlEvent({ ...build, latest: d.latest, entries: d.entries, url, partition: d.partition }), 'local');
        });
      }
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
  private async refreshCrl(issuer: CaHandle, tier: 'local' | 'global', baseUrl: string | undefined, bytesMax?: number): Promise<void> {
    const store = this.state();
    const now = this.ctx.nowMs();
    const latest = await store.latestCrl(issuer.issuerId);
    const revoked = await store.listRevoked(issuer.issuerId);
    const build = { issuer, store, nowMs: now, nextUpdateSeconds: this.ctx.crlNextUpdateSeconds, ...(bytesMax === undefined ? {} : { bytesMax }) };
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
