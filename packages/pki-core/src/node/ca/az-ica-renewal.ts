// The global leader renews every AZ's ICA when renewal-policy.ts says it is due (AZ ICAs are
// signed by the root, whose key only the global leader unwraps): a new key, wrapped under the KEK
// into the event as when the AZ was founded (founding/ca-found.ts `createAzIntermediate`). The
// event names the ICA it succeeds, so a leader change in the middle installs one successor only
// (state/apply-certs.ts). The old ICA stays valid until its end; its local leader keeps its CRL
// current (revocation/crl-refresh.ts) for the node ICAs and TLS certificates it signed.
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { BUILTIN_PROFILES } from '../../ca/profiles.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import { createAzIntermediate } from '../founding/ca-found.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';
import { caSignerFromRecord } from './ca-common.ts';
import { currentCa } from './current-ca.ts';
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
    const store = this.state();
    const cluster = await store.cluster();
    const root = cluster === undefined ? undefined : await store.getCa(cluster.rootIssuerId);
    // An offline root signs nothing here (founding/ca-offline-root.ts): its AZ ICAs are renewed by the operator.
    if (cluster === undefined || root === undefined || root.wrappedKey === null || root.revokedAt !== null) return;
    const cas = await store.cas();
    const nowMs = this.ctx.nowMs();
    for (const az of await store.azs()) {
      if (az.phase !== 'active') continue;
      const current = currentCa(cas, { azIcaOf: az.name }, nowMs);
      if (current === undefined) continue;
      const fields = readCertificateFields(current.certDer);
      const due = renewalDue({
        current: { notBeforeMs: fields.notBefore.getTime(), notAfterMs: fields.notAfter.getTime() },
        leadSeconds: AZ_ICA_LEAD_SECONDS,
        nowMs,
        lifetimeSeconds: BUILTIN_PROFILES.azIntermediate.lifetime.defaultSeconds,
        issuerNotAfterMs: root.notAfter,
      });
      if (!due) continue;
      const { event } = await createAzIntermediate({
        root: caSignerFromRecord(root, this.ctx.kek),
        az: az.name,
        clusterId: cluster.clusterId,
        kek: this.ctx.kek,
        nowMs,
        serials: this.ctx.random,
        keyType: this.ctx.caKeyType,
        generateKey: this.ctx.keyStore.generateCaKey,
        rootPublicBaseUrl: this.urls.ofCluster(),
      });
      // Rejected with ERR_ALREADY_EXISTS when another leader renewed it first: nothing to do then.
      await this.committer.commitRetrying({ ...event, replacesIssuerId: current.issuerId }, 'global');
      return;
    }
  }
}
