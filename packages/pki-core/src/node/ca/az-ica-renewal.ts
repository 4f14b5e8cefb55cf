// The global leader renews every AZ's ICA when renewal-policy.ts says it is due (AZ ICAs are
// signed by the root, whose key only the global leader unwraps): a new key, wrapped under the KEK
// into the event as when the AZ was founded (founding/ca-found.ts `createAzIntermediate`). The
// event names the ICA it succeeds, so a leader change in the middle installs one successor only
// (state/apply-certs.ts). The old ICA stays valid until its end; its local leader keeps its CRL
// current (revocation/crl-refresh.ts) for the node ICAs and TLS certificates it signed. After a
// root rollover (root-rollover.ts) every AZ ICA not signed by the new root is due at once. An AZ
// ICA that expired while the cluster was off is renewed the same way (docs/architecture.md §21).
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { BUILTIN_PROFILES } from '../../ca/profiles.ts';
import { PkiError } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord } from '../../state/records.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import { createAzIntermediate } from '../founding/ca-found.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';
import { caSignerFromRecord } from './ca-common.ts';
import { currentCa, latestCa } from './current-ca.ts';
import type { PublicBaseUrls } from './public-base-urls.ts';
import { AZ_ICA_LEAD_SECONDS } from './renewal-leads.ts';
import { renewalDue } from './renewal-policy.ts';

export class AzIcaRenewal {
  constructor(
    private readonly ctx: Pick<NodeContext, 'kek' | 'nowMs' | 'random' | 'caKeyType' | 'keyStore'>,
    private readonly roles: RoleView,
    private readonly state: () => PkiStateQueries,
    private readonly urls: PublicBaseUrls,
    private readonly committer: Committer,
    maintenance: MaintenanceRegistry,
  ) {
    maintenance.add({ name: 'AZ ICA renewal', run: async () => (this.roles.isGlobalLeader() ? this.renewDue() : undefined) });
  }

  /** At most one AZ per step: each renewal is a key generation and a global commit. */
  private async renewDue(): Promise<void> {
    await this.renewNext(false);
  }

  /**
   * After a root rollover (root-rollover.ts): re-issues, one by one, every AZ ICA not yet signed
   * by the cluster's current root. The maintenance step does the same for any left (a global
   * leader change in the middle), so the answer lists the ones this call installed.
   */
  async reissueUnderRoot(): Promise<{ az: string; issuerId: string }[]> {
    const installed: { az: string; issuerId: string }[] = [];
    for (let renewed = await this.renewNext(true); renewed !== null; renewed = await this.renewNext(true)) installed.push(renewed);
    return installed;
  }

  /**
   * Renews the first AZ ICA that is due — by renewal-policy.ts, or because its parent is not the
   * cluster's current root (a rollover) — and answers what it installed; `required`: a rejected
   * commit is thrown rather than left to the next step.
   */
  private async renewNext(required: boolean): Promise<{ az: string; issuerId: string } | null> {
    const store = this.state();
    const cluster = await store.cluster();
    const root = cluster === undefined ? undefined : await store.getCa(cluster.rootIssuerId);
    // An offline root signs nothing here (founding/ca-offline-root.ts): its AZ ICAs are renewed by the operator.
    if (cluster === undefined || root === undefined || root.wrappedKey === null || root.revokedAt !== null) return null;
    const cas = await store.cas();
    const nowMs = this.ctx.nowMs();
    for (const az of await store.azs()) {
      if (az.phase !== 'active') continue;
      // None valid: the cluster was off past its end (docs/architecture.md §21); the root re-issues it.
      const current = currentCa(cas, { azIcaOf: az.name }, nowMs) ?? latestCa(cas, { azIcaOf: az.name });
      if (current === undefined || !this.isDue(current, root, nowMs)) continue;
      const { event } = await createAzIntermediate({
        root: caSignerFromRecord(root, this.ctx.kek),
        az: az.name,
        clusterId: cluster.clusterId,
        kek: this.ctx.kek.wrapKek(),
        nowMs,
        serials: this.ctx.random,
        keyType: this.ctx.caKeyType,
        generateKey: this.ctx.keyStore.generateCaKey,
        rootPublicBaseUrl: this.urls.ofCluster(),
      });
      const outcome = await this.committer.commitRetrying({ ...event, replacesIssuerId: current.issuerId }, 'global');
      if (outcome.ok) return { az: az.name, issuerId: event.issuerId };
      // ERR_ALREADY_EXISTS: another renewal of this AZ ICA was applied first; the next look finds it done.
      if (outcome.error.code === 'ERR_ALREADY_EXISTS') return required ? this.renewNext(required) : null;
      if (required) throw new PkiError(outcome.error.code, `AZ ICA of ${az.name}: ${outcome.error.message}`, { field: 'az' });
      return null;
    }
    return null;
  }

  private isDue(current: CaRecord, root: CaRecord, nowMs: number): boolean {
    if (current.parentIssuerId !== root.issuerId) return true;
    const fields = readCertificateFields(current.certDer);
    return renewalDue({
      current: { notBeforeMs: fields.notBefore.getTime(), notAfterMs: fields.notAfter.getTime() },
      leadSeconds: AZ_ICA_LEAD_SECONDS,
      nowMs,
      lifetimeSeconds: BUILTIN_PROFILES.azIntermediate.lifetime.defaultSeconds,
      issuerNotAfterMs: root.notAfter,
    });
  }
}
