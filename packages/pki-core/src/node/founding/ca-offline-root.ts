// AZ ICAs under a root kept fully offline (docs/spec.md §5.4, docs/architecture.md §4.2;
// ca/README.md "Offline and external roots"). No root key exists in the cluster, so an
// AZ ICA is made in two steps with the operator's offline signing in between:
//
//  1. `prepareOfflineAzIntermediate` generates the AZ key, wraps it under the KEK at once (the
//     plaintext never outlives the call) and returns plain data: the TBSCertificate to sign and
//     what finishing needs — it may be written to a file between the steps;
//  2. the operator signs `tbsDer` with the root key (e.g. `openssl dgst -sha256 -sign root.key`);
//  3. `completeOfflineAzIntermediate` checks the signature against the root's key and returns the
//     `CaCertificateInstalled` event (and, for a new cluster, `clusterCreatedEvent` makes the
//     keyless `ClusterCreated`).
import { buildUnsignedCertificate, completeCertificate } from '../../ca/issue.ts';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { defaultCaKeyType, generateCaKeyPair, type CaKeyType } from '../../ca/keys.ts';
import { unwrapPrivateKey, wrapPrivateKey } from '../../ca/key-wrap.ts';
import type { SerialRandomSource } from '../../ca/serial.ts';
import { KeyObjectSigner, offlineSigner } from '../../ca/signer.ts';
import { PkiError } from '../../errors.ts';
import { caKeyBinding, checkNow, issuerIdOf } from '../ca/ca-common.ts';
import { azCertificateFields, azInstalledEvent, type CreatedAzIntermediate } from './ca-found.ts';

/** Step 1's result: plain, serializable data (the AZ key inside is sealed under the KEK). */
export interface PendingAzIntermediate {
  readonly az: string;
  readonly rootIssuerId: string;
  /** The AZ ICA's id (its key identifier). */
  readonly issuerId: string;
  /** DER TBSCertificate for the offline root to sign; its signature algorithm is the root key's. */
  readonly tbsDer: Uint8Array;
  readonly serialHex: string;
  /** The AZ key, AES-256-GCM under the KEK, bound to this AZ ICA (key-wrap.ts). */
  readonly wrappedKey: Uint8Array;
}

export interface PrepareOfflineAzInput {
  /** The offline root's certificate (its key is not needed). */
  readonly rootCert: Uint8Array;
  readonly az: string;
  readonly clusterId: string;
  readonly kek: Uint8Array;
  readonly nowMs: number;
  readonly serials: SerialRandomSource;
  readonly keyType?: CaKeyType;
  readonly lifetimeSeconds?: number;
}

export async function prepareOfflineAzIntermediate(input: PrepareOfflineAzInput): Promise<PendingAzIntermediate> {
  checkNow(input.nowMs);
  const rootSpki = readCertificateFields(input.rootCert).spkiDer;
  const key = await generateCaKeyPair(input.keyType ?? defaultCaKeyType);
  const unsigned = buildUnsignedCertificate({
    issuer: { certDer: input.rootCert, signer: offlineSigner(rootSpki) },
    ...azCertificateFields({ ...input, spkiDer: key.spkiDer }),
  });
  const issuerId = issuerIdOf(key.spkiDer);
  return {
    az: input.az,
    rootIssuerId: issuerIdOf(rootSpki),
    issuerId,
    tbsDer: unsigned.tbsDer,
    serialHex: unsigned.serialHex,
    wrappedKey: wrapPrivateKey(key.privateKey, input.kek, caKeyBinding('az', issuerId)),
  };
}

export interface CompleteOfflineAzInput {
  readonly pending: PendingAzIntermediate;
  /** The offline root's signature over `pending.tbsDer` (for ECDSA, the DER Ecdsa-Sig-Value). */
  readonly signature: Uint8Array;
  readonly rootCert: Uint8Array;
  readonly kek: Uint8Array;
  readonly nowMs: number;
}

/**
 * Joins the TBS and the offline signature after checking it with the root's key
 * (ERR_SIGNER_MISMATCH otherwise) and returns the AZ ICA and its event.
 */
export function completeOfflineAzIntermediate(input: CompleteOfflineAzInput): CreatedAzIntermediate {
  checkNow(input.nowMs);
  const { pending } = input;
  const rootSpki = readCertificateFields(input.rootCert).spkiDer;
  if (issuerIdOf(rootSpki) !== pending.rootIssuerId) {
    throw new PkiError('ERR_SIGNER_MISMATCH', 'this AZ ICA was prepared under another root', { field: 'rootCert' });
  }
  const cert = completeCertificate({ tbsDer: pending.tbsDer, serialHex: pending.serialHex, signer: offlineSigner(rootSpki), isCa: true }, input.signature);
  // The certificate must carry the sealed key: unwrap proves both the KEK and the pairing.
  const key = unwrapPrivateKey(pending.wrappedKey, input.kek, caKeyBinding('az', pending.issuerId));
  const signer = new KeyObjectSigner(key);
  if (issuerIdOf(readCertificateFields(cert.der).spkiDer) !== pending.issuerId || issuerIdOf(signer.spkiDer) !== pending.issuerId) {
    throw new Error('assertion failed: the completed AZ ICA does not carry the prepared key');
  }
  const event = azInstalledEvent({
    issuerId: pending.issuerId,
    rootIssuerId: pending.rootIssuerId,
    az: pending.az,
    certDer: cert.der,
    wrappedKey: pending.wrappedKey,
    nowMs: input.nowMs,
  });
  return { azIca: { cert: cert.der, signer, issuerId: pending.issuerId }, event };
}
