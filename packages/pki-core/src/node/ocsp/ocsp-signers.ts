// Who signs this node's OCSP answers for a CA (docs/architecture.md §14): its AZ's responder key
// (unwrapped in memory once, like an AZ ICA key under its leader) with the responder certificate
// that CA issued to it (RFC 6960 §4.2.2.2 delegation); failing that, for this node's own ICA, the
// ICA key itself (RFC 6960 §4.2.2.2: the CA may sign its own answers).
import { KeyObjectSigner, type Signer } from '../../ca/signer.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord, OcspResponderKeyRecord } from '../../state/records.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { NodeContext } from '../core/context.ts';
import { ocspKeyBinding } from './ocsp-provisioning.ts';

export interface OcspSigning {
  readonly signer: Signer;
  /** The delegated responder's certificate, sent with the answer; absent when the CA signs itself. */
  readonly responderCertDer?: Uint8Array;
}

export class OcspSigners {
  private unwrapped: { keyId: string; signer: KeyObjectSigner } | null = null;

  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'kek' | 'nowMs' | 'ownKeys'>,
    private readonly state: () => PkiStateQueries,
    private readonly ownCa: OwnCa,
  ) {}

  /** How to sign answers about `issuer`'s certificates now, or undefined when this node cannot yet. */
  async signingFor(issuer: CaRecord): Promise<OcspSigning | undefined> {
    const store = this.state();
    const key = await store.ocspResponderKey(this.ctx.az);
    const cert = await store.ocspResponderCert(issuer.issuerId, this.ctx.az);
    if (key !== undefined && cert !== undefined && cert.keyId === key.keyId && cert.notAfter > this.ctx.nowMs()) {
      return { signer: this.azSigner(key), responderCertDer: cert.certDer };
    }
    const own = this.ctx.ownKeys.get() ? await this.ownCa.record() : undefined;
    if (own?.issuerId === issuer.issuerId && own.revokedAt === null) return { signer: (await this.ownCa.signer()).signer };
    return undefined;
  }

  private azSigner(key: OcspResponderKeyRecord): KeyObjectSigner {
    if (this.unwrapped?.keyId !== key.keyId) {
      this.unwrapped = { keyId: key.keyId, signer: new KeyObjectSigner(this.ctx.kek.unwrap(key.wrappedKey, ocspKeyBinding(key.az))) };
    }
    return this.unwrapped.signer;
  }
}
