// Indirect CRLs (RFC 5280 §5.2.5; docs/architecture.md §4.5): a node ICA's own CRL can be signed
// only by its node, so while that node is down a revocation of one of its leaves would reach no
// CRL. Each AZ ICA therefore also signs, through its AZ's local leader (the AZ ICA key is in the
// state, wrapped under the KEK), one indirect CRL listing every revoked leaf of the node ICAs it
// certified; each leaf names it as a second distribution point with the AZ ICA as cRLIssuer
// (issuer-urls.ts). A revocation is in it within one maintenance round of the local leader once
// it is applied in the AZ, whichever node is down. Relying parties that support indirect CRLs
// (`openssl verify -extended_crl`) can use it instead of the node ICA's CRL; others keep using the
// direct one. Limits: one complete CRL per AZ ICA (no deltas, no partitions), bounded by the CRL
// size limit of the log (state/fields.ts maxCrlDerBytes, about 140,000 entries).
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { buildCrl, type RevokedEntry } from '../../ca/crl.ts';
import { truncateToSeconds } from '../../ca/time.ts';
import type { IndirectCrlPublishedEvent } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord, CrlRecord, RevocationRecord } from '../../state/records.ts';
import type { CaHandle } from '../ca/ca-common.ts';
import { pastHalfLife } from '../ca/ca-revocation.ts';

/** One revoked leaf of a node ICA under the AZ ICA, with that node ICA (its name goes in the CRL). */
interface IndirectEntry {
  readonly revocation: RevocationRecord;
  readonly issuer: CaRecord;
}

/** Every revocation of a leaf issued by a node ICA that `azIca` certified, grouped by node ICA. */
export async function indirectCrlEntries(store: PkiStateQueries, cas: readonly CaRecord[], azIcaIssuerId: string): Promise<IndirectEntry[]> {
  const entries: IndirectEntry[] = [];
  const nodeIcas = cas.filter((c) => c.role === 'node' && c.parentIssuerId === azIcaIssuerId).sort((a, b) => (a.issuerId < b.issuerId ? -1 : 1));
  for (const issuer of nodeIcas) for (const revocation of await store.listRevoked(issuer.issuerId)) entries.push({ revocation, issuer });
  return entries;
}

/** A new indirect CRL is due when there is none, half its validity has passed, or a revocation applied after it. */
export function indirectCrlDue(latest: CrlRecord | undefined, entries: readonly IndirectEntry[], nowMs: number): boolean {
  if (latest === undefined) return true;
  if (pastHalfLife(latest, nowMs)) return true;
  const covers = latest.coversIndex ?? 0;
  return entries.some((e) => e.revocation.index > covers);
}

export interface BuildIndirectCrlInput {
  readonly azIca: CaHandle;
  readonly latest: CrlRecord | undefined;
  readonly entries: readonly IndirectEntry[];
  /** The URL leaves name for it (issuer-urls.ts indirectCrlUrl), repeated in its issuing distribution point. */
  readonly url: string;
  readonly nowMs: number;
  readonly nextUpdateSeconds: number;
}

/** Signs the AZ ICA's next indirect CRL and returns the event that publishes it. */
export async function buildIndirectCrlEvent(input: BuildIndirectCrlInput): Promise<IndirectCrlPublishedEvent> {
  const thisUpdate = truncateToSeconds(new Date(input.nowMs));
  const nextUpdate = new Date(thisUpdate.getTime() + input.nextUpdateSeconds * 1000);
  const crlNumber = (input.latest?.crlNumber ?? 0) + 1;
  // Each node ICA's name parsed once, and only when a CRL is signed (the due check runs every round).
  const names = new Map<CaRecord, Uint8Array>();
  const nameOf = (ica: CaRecord): Uint8Array => names.get(ica) ?? names.set(ica, readCertificateFields(ica.certDer).subjectNameDer).get(ica)!;
  const revoked: RevokedEntry[] = input.entries.map((e) => ({
    serialHex: e.revocation.serialHex,
    revokedAt: new Date(e.revocation.revokedAt),
    reason: e.revocation.reason,
    certificateIssuerNameDer: nameOf(e.issuer),
  }));
  const crl = await buildCrl({ issuer: input.azIca.cert, signer: input.azIca.signer, crlNumber, thisUpdate, nextUpdate, revoked, indirect: { distributionPointUrl: input.url } });
  return {
    type: 'IndirectCrlPublished',
    issuerId: input.azIca.issuerId,
    crlNumber,
    crlDer: crl.der,
    thisUpdate: thisUpdate.getTime(),
    nextUpdate: nextUpdate.getTime(),
    coversIndex: input.entries.reduce((max, e) => Math.max(max, e.revocation.index), 0),
  };
}
