// A prepared issuer: the per-issuer constants of every certificate and CRL it signs (its Name DER,
// key identifier, validity, signature AlgorithmIdentifier), computed once from its certificate
// and checked against its signer.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { PkiError } from '../errors.ts';
import { signatureAlgorithmInfo, type SignatureAlgorithm } from './algorithms.ts';
import { basicConstraintsOf, readCertificateFields, subjectKeyIdOf, type CertificateFields } from './cert-fields.ts';
import { bytesEqual } from './der.ts';
import { authorityKeyIdentifierExtension, keyIdentifier } from './extensions.ts';
import type { Signer } from './signer.ts';

export interface PreparedIssuer {
  readonly kind: 'prepared';
  readonly certDer: Uint8Array;
  readonly fields: CertificateFields;
  readonly signer: Signer;
  /** The issuer's subject Name, copied byte for byte into the issuer field (RFC 5280 §4.1.2.4). */
  readonly nameDer: Uint8Array;
  /** The issuer's key identifier: its SKI extension, else computed from its key (§4.2.1.1). */
  readonly keyId: Uint8Array;
  /** The whole AuthorityKeyIdentifier extension of the certificates and CRLs it signs. */
  readonly akiExtension: Uint8Array;
  readonly notAfter: Date;
  /** The issuer's pathLenConstraint; 0 means it may not issue CA certificates (RFC 5280 §4.2.1.9). */
  readonly pathLen: number | undefined;
}

const preparedCache = new WeakMap<Uint8Array, WeakMap<Signer, PreparedIssuer>>();

/**
 * Prepares an issuer from its certificate and signer. The signer's public key must be the
 * certificate's (ERR_SIGNER_MISMATCH) and the certificate must be a CA (RFC 5280 §4.2.1.9).
 * Results are memoized per (certDer, signer) object pair, so callers may pass the raw pair on
 * every issuance and still pay for parsing once.
 */
export function prepareIssuer(certDer: Uint8Array, signer: Signer): PreparedIssuer {
  const bySigner = preparedCache.get(certDer);
  const hit = bySigner?.get(signer);
  if (hit !== undefined) return hit;
  const fields = readCertificateFields(certDer);
  if (!bytesEqual(fields.spkiDer, signer.spkiDer)) {
    throw new PkiError('ERR_SIGNER_MISMATCH', "the signer's key is not the issuer certificate's key", { field: 'issuer.signer' });
  }
  const constraints = basicConstraintsOf(fields);
  if (!constraints.ca) throw new TypeError('prepareIssuer: the issuer certificate is not a CA (basicConstraints cA)');
  const keyId = subjectKeyIdOf(fields) ?? keyIdentifier(fields.spkiDer);
  const prepared: PreparedIssuer = Object.freeze({
    kind: 'prepared',
    certDer,
    fields,
    signer,
    nameDer: fields.subjectNameDer,
    keyId,
    akiExtension: authorityKeyIdentifierExtension(keyId),
    notAfter: fields.notAfter,
    pathLen: constraints.pathLen,
  });
  if (bySigner === undefined) preparedCache.set(certDer, new WeakMap([[signer, prepared]]));
  else bySigner.set(signer, prepared);
  return prepared;
}

/** Verifies `signature` over `data` with the key in `spkiDer` (a post-signing self-check). */
export function verifySignature(spkiDer: Uint8Array, algorithm: SignatureAlgorithm, data: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  return nodeVerify(signatureAlgorithmInfo(algorithm).nodeDigest, data, key, signature);
}

/** Signs and asserts the result verifies: a signer that returns garbage is a broken invariant. */
export async function signChecked(signer: Signer, data: Uint8Array): Promise<Uint8Array> {
  const signature = await signer.sign(data);
  if (!verifySignature(signer.spkiDer, signer.algorithm, data, signature)) {
    throw new Error(`assertion failed: signer (${signer.algorithm}) produced a signature that does not verify`);
  }
  return signature;
}
