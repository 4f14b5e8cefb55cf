// RFC 6960 §4.1.1 CertID matching: a request names its certificate's issuer by the hash of the
// issuer's Name (DER) and of its public key (the subjectPublicKey BIT STRING value, as the SKI of
// RFC 5280 §4.2.1.2 method 1 is computed), under the hash the client chose.
import { createHash } from 'node:crypto';
import { readCertificateFields } from './cert-fields.ts';
import { toHex } from './der.ts';
import { subjectPublicKeyBits } from './extensions.ts';
import type { OcspHash } from './ocsp-request.ts';

export interface IssuerHashes {
  readonly nameHashHex: string;
  readonly keyHashHex: string;
}

/** The issuer hashes a CertID carries for the certificates `issuerCertDer`'s key signs. */
export function issuerHashes(issuerCertDer: Uint8Array, hash: OcspHash): IssuerHashes {
  const fields = readCertificateFields(issuerCertDer);
  return {
    nameHashHex: toHex(createHash(hash).update(fields.subjectNameDer).digest()),
    keyHashHex: toHex(createHash(hash).update(subjectPublicKeyBits(fields.spkiDer)).digest()),
  };
}
