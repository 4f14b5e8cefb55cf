// Delegated OCSP responders, provisioned ahead of need (docs/architecture.md §14): each AZ's local
// leader makes the AZ's responder key once (sealed under the KEK, as AZ ICA keys are), and every
// CA certifies every AZ's responder key with a short-lived responder certificate (RFC 6960
// §4.2.2.2), each CA by the one owner of its key — a node ICA by its node, the AZ ICA by the
// local leader under its lease, the root by the global leader — as CRLs are (crl-refresh.ts).
// Any node of any AZ can then sign answers for any CA's certificates with its AZ's key, even
// while the node holding the issuing node ICA key is down.
import { generateCaKeyPair } from '../../ca/keys.ts';
import { wrapPrivateKey } from '../../ca/key-wrap.ts';
import { buildName, escapeValue } from '../../ca/names.ts';
import { issueOcspResponderCertificate } from '../../ca/ocsp-responder-cert.ts';
import { randomSerial } from '../../ca/serial.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { OcspResponderKeyRecord } from '../../state/records.ts';
import { caSignerFromRecord, issuerIdOf, notAfterMsOf, type CaHandle } from '../ca/ca-common.ts';
import { validRoots } from '../ca/current-ca.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';

/** Binding of a sealed responder key (key-wrap.ts): a blob cannot be unwrapped as another AZ's key. */
export function ocspKeyBinding(az: string): { purpose: string; keyId: string } {
  return { purpose: 'ocspResponder', keyId: az };
}

/** Seconds a responder certificate's notBefore is set back, so slightly slow clocks accept it at once. */
const RESPONDER_BACKDATE_SECONDS = 60;

export interface OcspProvisioningLimits {
  /** Lifetime of a responder certificate; a new one is issued once less than half remains. */
  readonly responderLifetimeSeconds: number;
}

export class OcspProvisioning {
  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'kek' | 'nowMs' | 'random' | 'caKeyType' | 'ownKeys' | 'publicHttpPort'>,
    private readonly roles: RoleView,
    private readonly state: () => PkiStateQueries,
    private readonly ownCa: OwnCa,
    private readonly committer: Committer,
    private readonly limits: OcspProvisioningLimits,
    maintenance: MaintenanceRegistry,
  ) {
    // OCSP is answered on the public HTTP port: a node without one provisions no responder.
    const serving = (): boolean => ctx.publicHttpPort !== undefined;
    maintenance.add({ name: 'OCSP responder key', run: async () => (serving() && roles.hasLocalLease() ? this.ensureAzKey() : undefined) });
    maintenance.add({ name: 'node ICA OCSP responders', run: async () => (serving() ? this.certifyByOwnCa() : undefined) });
    maintenance.add({ name: 'AZ ICA OCSP responders', run: async () => (serving() && roles.hasLocalLease() ? this.certifyByAzCa() : undefined) });
    maintenance.add({ name: 'root OCSP responders', run: async () => (serving() && roles.isGlobalLeader() ? this.certifyByRoot() : undefined) });
  }

  private async ensureAzKey(): Promise<void> {
    const store = this.state();
    const az = await store.getAz(this.ctx.az);
    if (az?.phase !== 'active' || (await store.ocspResponderKey(this.ctx.az)) !== undefined) return;
    const key = await generateCaKeyPair(this.ctx.caKeyType);
    await this.committer.commit(
      {
        type: 'OcspResponderKeyInstalled',
        az: this.ctx.az,
        keyId: issuerIdOf(key.spkiDer),
        spkiDer: key.spkiDer,
        wrappedKey: wrapPrivateKey(key.privateKey, this.ctx.kek.wrapKek(), ocspKeyBinding(this.ctx.az)),
        at: this.ctx.nowMs(),
      },
      'global',
    );
  }

  private async certifyByOwnCa(): Promise<void> {
    if (!this.ctx.ownKeys.get()) return;
    const ca = await this.ownCa.record();
    if (ca && ca.revokedAt === null) await this.certifyAll(await this.ownCa.signer());
  }

  private async certifyByAzCa(): Promise<void> {
    const rec = (await this.state().cas()).find((c) => c.role === 'az' && c.az === this.ctx.az);
    if (rec && rec.revokedAt === null) await this.certifyAll(caSignerFromRecord(rec, this.ctx.kek));
  }

  /** Each valid root with its key in the state: after a rollover the earlier root still answers for its AZ ICAs. */
  private async certifyByRoot(): Promise<void> {
    for (const root of await validRoots(this.state(), this.ctx.nowMs())) await this.certifyAll(caSignerFromRecord(root, this.ctx.kek));
  }

  /** Certifies every AZ's responder key whose certificate from `ca` is missing, for another key, or past half its life. */
  private async certifyAll(ca: CaHandle): Promise<void> {
    const store = this.state();
    const now = this.ctx.nowMs();
    for (const key of await store.ocspResponderKeys()) {
      const current = await store.ocspResponderCert(ca.issuerId, key.az);
      const halfLifeMs = (this.limits.responderLifetimeSeconds * 1000) / 2;
      if (current !== undefined && current.keyId === key.keyId && current.notAfter - now > halfLifeMs) continue;
      await this.certify(ca, key, now);
    }
  }

  private async certify(ca: CaHandle, key: OcspResponderKeyRecord, now: number): Promise<void> {
    const issuerNotAfter = notAfterMsOf(ca.cert);
    const notAfter = Math.min(now + this.limits.responderLifetimeSeconds * 1000, issuerNotAfter);
    if (notAfter <= now + 1000) return; // the CA expires now: nothing it could delegate
    const cert = await issueOcspResponderCertificate({
      issuer: { certDer: ca.cert, signer: ca.signer },
      subjectDer: buildName(`CN=${escapeValue(`OCSP responder ${key.az}`)}`),
      spkiDer: key.spkiDer,
      serial: randomSerial(this.ctx.random),
      notBefore: new Date(now - RESPONDER_BACKDATE_SECONDS * 1000),
      notAfter: new Date(notAfter),
    });
    await this.committer.commit(
      {
        type: 'OcspResponderCertified',
        issuerId: ca.issuerId,
        az: key.az,
        keyId: key.keyId,
        serialHex: cert.serialHex,
        certDer: cert.der,
        notAfter: notAfterMsOf(cert.der),
        at: now,
      },
      'global',
    );
  }
}
