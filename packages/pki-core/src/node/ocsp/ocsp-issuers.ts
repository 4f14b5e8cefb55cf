// Which CA of the cluster a CertID names (RFC 6960 §4.1.1): its issuer Name and key hashes, under
// SHA-1 or SHA-256. A CA's hashes never change under its issuer id, so they are computed once per
// CA and kept; an unknown pair re-reads the CA list once (a CA installed since), then is unknown.
import { issuerHashes } from '../../ca/ocsp-cert-id.ts';
import { OCSP_HASHES, type OcspCertId, type OcspHash } from '../../ca/ocsp-request.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord } from '../../state/records.ts';

const HASHES = Object.values(OCSP_HASHES);

function indexKey(hash: OcspHash, nameHashHex: string, keyHashHex: string): string {
  return `${hash}:${nameHashHex}:${keyHashHex}`;
}

export class OcspIssuers {
  private readonly byHashes = new Map<string, string>();
  private readonly indexed = new Set<string>();

  constructor(private readonly state: () => PkiStateQueries) {}

  /** The CA record a CertID names, or undefined when no CA of this cluster matches it. */
  async issuerOf(id: OcspCertId): Promise<CaRecord | undefined> {
    if (id.hash === null) return undefined;
    const key = indexKey(id.hash, id.issuerNameHashHex, id.issuerKeyHashHex);
    let issuerId = this.byHashes.get(key);
    if (issuerId === undefined) {
      await this.indexNewCas();
      issuerId = this.byHashes.get(key);
    }
    return issuerId === undefined ? undefined : this.state().getCa(issuerId);
  }

  private async indexNewCas(): Promise<void> {
    for (const ca of await this.state().cas()) {
      if (this.indexed.has(ca.issuerId)) continue;
      for (const hash of HASHES) {
        const h = issuerHashes(ca.certDer, hash);
        this.byHashes.set(indexKey(hash, h.nameHashHex, h.keyHashHex), ca.issuerId);
      }
      this.indexed.add(ca.issuerId);
    }
  }
}
