// Chain assembly: orders certificates leaf → … → root as TLS servers send them (RFC 8446
// §4.4.2: each certificate SHOULD directly certify the one preceding it). This only orders; path
// validation is the relying party's job (and OpenSSL's in our tests).
import { X509Certificate } from 'node:crypto';
import { PkiError } from '../errors.ts';
import { authorityKeyIdOf, readCertificateFields, subjectKeyIdOf, type CertificateFields } from './cert-fields.ts';
import { bytesEqual } from './der.ts';
import { toPem } from './pem.ts';

/** Longest chain assembled: root → AZ ICA → node ICA → leaf is 4; leave room for cross-signing. */
const chainMaxCertificates = 8;

interface Candidate {
  readonly fields: CertificateFields;
  readonly x509: X509Certificate;
}

function isSelfIssued(f: CertificateFields): boolean {
  return bytesEqual(f.issuerNameDer, f.subjectNameDer);
}

/** Does `issuer` certify `child`? Name chaining (RFC 5280 §6.1.3 (a)(4)), AKI/SKI when both exist, and the signature. */
function certifies(issuer: Candidate, child: Candidate): boolean {
  if (!bytesEqual(child.fields.issuerNameDer, issuer.fields.subjectNameDer)) return false;
  const aki = authorityKeyIdOf(child.fields);
  const ski = subjectKeyIdOf(issuer.fields);
  if (aki !== undefined && ski !== undefined && !bytesEqual(aki, ski)) return false;
  return child.x509.verify(issuer.x509.publicKey);
}

function candidate(der: Uint8Array): Candidate {
  const fields = readCertificateFields(der);
  return { fields, x509: new X509Certificate(Buffer.from(der)) };
}

export interface ChainOptions {
  /** Put the self-signed root last (default false: TLS peers already hold the root). */
  readonly includeRoot?: boolean;
  /** Fail with ERR_ISSUER_UNKNOWN unless the chain reaches a self-signed root among `certificates` (default true). */
  readonly requireRoot?: boolean;
}

/**
 * Orders `leaf` and its issuers from `certificates` (any order, extra certificates ignored):
 * returns DER leaf first.
 */
export function assembleChain(leaf: Uint8Array, certificates: readonly Uint8Array[], options: ChainOptions = {}): Uint8Array[] {
  const pool = certificates.map(candidate);
  const chain: Candidate[] = [candidate(leaf)];
  for (;;) {
    const last = chain[chain.length - 1]!;
    if (isSelfIssued(last.fields) && last.x509.verify(last.x509.publicKey)) break;
    const next = pool.find((c) => !chain.includes(c) && certifies(c, last));
    if (next === undefined) {
      if (options.requireRoot ?? true) {
        throw new PkiError('ERR_ISSUER_UNKNOWN', `no issuer found for certificate ${last.fields.serialHex}`, { field: 'certificates' });
      }
      break;
    }
    chain.push(next);
    if (chain.length > chainMaxCertificates) {
      throw new PkiError('ERR_INPUT_INVALID', `chain longer than ${chainMaxCertificates} certificates`, { field: 'certificates' });
    }
  }
  const last = chain[chain.length - 1]!;
  if (chain.length > 1 && isSelfIssued(last.fields) && !(options.includeRoot ?? false)) chain.pop();
  return chain.map((c) => c.fields.der);
}

/** A PEM bundle of certificates in the given order. */
export function chainToPem(certificates: readonly Uint8Array[]): string {
  return certificates.map((der) => toPem(der)).join('');
}

/** PEM bundle leaf → … (→ root with `includeRoot`), from certificates given in any order. */
export function assembleChainPem(leaf: Uint8Array, certificates: readonly Uint8Array[], options: ChainOptions = {}): string {
  return chainToPem(assembleChain(leaf, certificates, options));
}
