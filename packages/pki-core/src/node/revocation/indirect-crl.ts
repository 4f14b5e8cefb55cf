// Indirect CRLs (RFC 5280 §5.2.5; docs/architecture.md §4.5): a node ICA's own CRL can be signed
// only by its node, so while that node is down a revocation of one of its leaves would reach no
// CRL. Each AZ ICA therefore also signs, through its AZ's local leader (the AZ ICA key is in the
// state, wrapped under the KEK), one indirect CRL listing every revoked leaf of the node ICAs it
// certified; each leaf names it as a second distribution point with the AZ ICA as cRLIssuer
// (issuer-urls.ts). A revocation is in it within one maintenance round of the local leader once
// it is applied in the AZ, whichever node is down. Relying parties that support indirect CRLs
// (`openssl verify -extended_crl`) can use it instead of the node ICA's CRL; others keep using the
// direct one. Leaves of partitioned node ICAs (state/crl-partitions.ts) name partition k of it,
// listing those leaves whose serial is in partition k of their node ICA, each under the partition
// budget; the unpartitioned one lists the leaves of node ICAs without partitions, bounded only by
// the CRL size limit of the log (state/fields.ts maxCrlDerBytes, about 140,000 entries).
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { buildCrl, type RevokedEntry } from '../../ca/crl.ts';
import { truncateToSeconds } from '../../ca/time.ts';
import type { IndirectCrlPublishedEvent } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord, CrlRecord, RevocationRecord } from '../../state/records.ts';
import type { CaHandle } from '../ca/ca-common.ts';
import { checkCrlBudget, pastHalfLife } from '../ca/ca-revocation.ts';
import { CRL_PARTITION_BYTES_MAX, crlPartitionOf } from '../../state/crl-partitions.ts';

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

/**
 * How many partitions an AZ ICA's indirect CRL has: as many as the node ICA it certified with the
 * most (a leaf of partition k names indirect partition k, revoked or not, so each must exist).
 */
export function indirectPartitionCount(cas: readonly CaRecord[], azIcaIssuerId: string): number {
  return Math.max(0, ...cas.filter((c) => c.role === 'node' && c.parentIssuerId === azIcaIssuerId).map((c) => c.crlPartitions ?? 0));
}

/**
 * The entries each indirect CRL of an AZ ICA lists: `unpartitioned`, those of node ICAs without
 * partitions; `partitions[k]` (k < `count`, indirectPartitionCount), those whose serial is in
 * partition k of their node ICA.
 */
export function splitIndirectEntries(entries: readonly IndirectEntry[], count: number): { unpartitioned: IndirectEntry[]; partitions: IndirectEntry[][] } {
  const split = { unpartitioned: [] as IndirectEntry[], partitions: Array.from({ length: count }, () => [] as IndirectEntry[]) };
  for (const e of entries) {
    const p = e.issuer.crlPartitions;
    if (p === undefined) split.unpartitioned.push(e);
    else split.partitions[crlPartitionOf(e.revocation.serialHex, p)]!.push(e);
  }
  return split;
}

/** A new indirect CRL is due when there is none, half its validity has passed, or a revocation applied after it. */
export function indirectCrlDue(latest: CrlRecord | undefined, entries: readonly IndirectEntry[], nowMs: number): boolean {
  if (latest === undefined) return true;
  if (pastHalfLife(latest, nowMs)) return true;
  const covers = latest.coversIndex ?? 0;
  return entries.some((e) => e.revocation.index > covers);
}

/** One partition of an AZ ICA's indirect CRL that is due, with what it must list. */
export interface DueIndirectPartition {
  readonly partition: number;
  readonly latest: CrlRecord | undefined;
  readonly entries: readonly IndirectEntry[];
}

/** The partitions of an AZ ICA's indirect CRL that are due (indirectCrlDue), those missing a revocation first, then those without a CRL. */
export async function dueIndirectPartitions(store: PkiStateQueries, azIcaIssuerId: string, partitions: readonly IndirectEntry[][], nowMs: number): Promise<DueIndirectPartition[]> {
  const due: { item: DueIndirectPartition; rank: number }[] = [];
  for (const [partition, entries] of partitions.entries()) {
    const latest = await store.latestIndirectCrl(azIcaIssuerId, partition);
    if (!indirectCrlDue(latest, entries, nowMs)) continue;
    const covers = latest?.coversIndex ?? 0;
    const missing = entries.some((e) => e.revocation.index > covers);
    due.push({ item: { partition, latest, entries }, rank: missing ? 0 : latest === undefined ? 1 : 2 });
  }
  return due.sort((a, b) => a.rank - b.rank || a.item.partition - b.item.partition).map((d) => d.item);
}

export interface BuildIndirectCrlInput {
  readonly azIca: CaHandle;
  readonly latest: CrlRecord | undefined;
  readonly entries: readonly IndirectEntry[];
  /** The URL leaves name for it (issuer-urls.ts indirectCrlUrl), repeated in its issuing distribution point. */
  readonly url: string;
  readonly nowMs: number;
  readonly nextUpdateSeconds: number;
  /** Partition k of the indirect CRL (splitIndirectEntries): held to CRL_PARTITION_BYTES_MAX. */
  readonly partition?: number;
}

/** Signs the AZ ICA's next indirect CRL, or a partition of it, and returns the event that publishes it. */
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
  if (input.partition !== undefined) checkCrlBudget(crl.der, CRL_PARTITION_BYTES_MAX, `partition ${input.partition} of the indirect CRL of ${input.azIca.issuerId} (${revoked.length} entries)`);
  return {
    type: 'IndirectCrlPublished',
    issuerId: input.azIca.issuerId,
    crlNumber,
    crlDer: crl.der,
    thisUpdate: thisUpdate.getTime(),
    nextUpdate: nextUpdate.getTime(),
    coversIndex: input.entries.reduce((max, e) => Math.max(max, e.revocation.index), 0),
    ...(input.partition === undefined ? {} : { partition: input.partition }),
  };
}
