// Who signs this node's OCSP answers for a CA (docs/architecture.md §14): its AZ's responder key
// (unwrapped in memory once, like an AZ ICA key under its leader) with the responder certificate
// that CA issued to it (RFC 6960 §4.2.2.2 delegation); failing that, for this node's own ICA, the
// ICA key itself (RFC 6960 §4.2.2.2: the CA may sign its own answers). What every answer of that
// responder repeats is encoded once per responder certificate (ca/ocsp-response.ts `prepareOcspResponder`).
import { prepareOcspResponder, type PreparedOcspResponder } from '../../ca/ocsp-response.ts';
import { KeyObjectSigner, type Signer } from '../../ca/signer.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord, OcspResponderKeyRecord } from '../../state/records.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { NodeContext } from '../core/context.ts';
import { ocspKeyBinding } from './ocsp-provisioning.ts';

/** Prepared responders kept at most (one per CA asked about; node ICA renewals add CAs over the years): the oldest goes first. */
const PREPARED_RESPONDERS_MAX = 1024;

export class OcspSigners {
  private unwrapped: { keyId: string; signer: KeyObjectSigner } | null = null;
  /**
   * The prepared responder (ca/ocsp-response.ts) per issuer id, with what it was prepared from: a
   * renewed responder certificate, a new AZ key or the CA's own key signing instead replaces it.
   * One entry per CA asked about, at most PREPARED_RESPONDERS_MAX.
   */
  private readonly prepared = new Map<string, { from: string; signer: Signer; responder: PreparedOcspResponder }>();

  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'kek' | 'nowMs' | 'ownKeys'>,
    private readonly state: () => PkiStateQueries,
    private readonly ownCa: OwnCa,
  ) {}

  /** How to sign answers about `issuer`'s certificates now, or undefined when this node cannot yet. */
  async signingFor(issuer: CaRecord): Promise<PreparedOcspResponder | undefined> {
    const store = this.state();
    const key = await store.ocspResponderKey(this.ctx.az);
    const cert = await store.ocspResponderCert(issuer.issuerId, this.ctx.az);
    if (key !== undefined && cert !== undefined && cert.keyId === key.keyId && cert.notAfter > this.ctx.nowMs()) {
      return this.preparedFor(issuer.issuerId, `${key.keyId}:${cert.serialHex}`, this.azSigner(key), cert.certDer);
    }
    const own = this.ctx.ownKeys.get() ? await this.ownCa.record() : undefined;
    if (own?.issuerId === issuer.issuerId && own.revokedAt === null) return this.preparedFor(issuer.issuerId, 'own', (await this.ownCa.signer()).signer);
    return undefined;
  }

  private preparedFor(issuerId: string, from: string, signer: Signer, responderCertDer?: Uint8Array): PreparedOcspResponder {
    const hit = this.prepared.get(issuerId);
    if (hit?.from === from && hit.signer === signer) return hit.responder;
    const responder = prepareOcspResponder(signer, responderCertDer);
    this.prepared.delete(issuerId);
    if (this.prepared.size >= PREPARED_RESPONDERS_MAX) this.prepared.delete(this.prepared.keys().next().value!);
    this.prepared.set(issuerId, { from, signer, responder });
    return responder;
  }

  private azSigner(key: OcspResponderKeyRecord): KeyObjectSigner {
    if (this.unwrapped?.keyId !== key.keyId) {
      this.unwrapped = { keyId: key.keyId, signer: new KeyObjectSigner(this.ctx.kek.unwrap(key.wrappedKey, ocspKeyBinding(key.az))) };
    }
    return this.unwrapped.signer;
  }
}
