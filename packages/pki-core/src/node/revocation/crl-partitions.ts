// Partition CRLs of a node ICA (RFC 5280 §5.2.5; state/crl-partitions.ts; docs/architecture.md
// §4.5): a node ICA created with a partition count P publishes P CRLs, partition k listing the
// unexpired revocations whose serial is k mod P, each with an issuing distribution point naming
// the URL its leaves carry (`/crl/<issuer>-p<k>.crl`, ca/issuer-urls.ts). Only a partition that
// misses a revocation, has no CRL yet, or is past half its validity is signed again, so a
// revocation costs one Raft entry of its partition's size, and no entry exceeds
// CRL_PARTITION_BYTES_MAX: a partition CRL over it is refused (ERR_CRL_OVER_BUDGET), never committed.
import { buildCrl } from '../../ca/crl.ts';
import { crlListedSerials } from '../../ca/crl-entries.ts';
import { normalizeSerialHex } from '../../ca/serial.ts';
import { truncateToSeconds } from '../../ca/time.ts';
import { CRL_PARTITION_BYTES_MAX, crlPartitionOf } from '../../state/crl-partitions.ts';
import type { PartitionCrlPublishedEvent } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CrlRecord, RevocationRecord } from '../../state/records.ts';
import type { CaHandle } from '../ca/ca-common.ts';
import { checkCrlBudget, pastHalfLife, revokedEntries } from '../ca/ca-revocation.ts';

/** One partition whose CRL is due, with what it must list. */
export interface DuePartition {
  readonly partition: number;
  readonly latest: CrlRecord | undefined;
  readonly revoked: readonly RevocationRecord[];
}

/**
 * The partitions of `issuerId` whose CRL is due, most urgent first: one missing a revocation of
 * its partition, then one with no CRL yet, then one past half its validity.
 */
export async function duePartitions(store: PkiStateQueries, issuerId: string, partitions: number, nowMs: number): Promise<DuePartition[]> {
  const byPartition: RevocationRecord[][] = Array.from({ length: partitions }, () => []);
  for (const r of await store.listRevoked(issuerId)) byPartition[crlPartitionOf(r.serialHex, partitions)]!.push(r);
  const due: { item: DuePartition; rank: number }[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const latest = await store.latestPartitionCrl(issuerId, partition);
    const revoked = byPartition[partition]!;
    // By content, as crlNeedsRefresh (ca-revocation.ts): a CRL signed from an older state may miss a revocation before it in the log.
    const listed = latest === undefined || revoked.length === 0 ? new Set<string>() : crlListedSerials(latest.crlDer);
    const missing = revoked.some((r) => !listed.has(normalizeSerialHex(r.serialHex)));
    if (!missing && latest !== undefined && !pastHalfLife(latest, nowMs)) continue;
    due.push({ item: { partition, latest, revoked }, rank: missing ? 0 : latest === undefined ? 1 : 2 });
  }
  return due.sort((a, b) => a.rank - b.rank || a.item.partition - b.item.partition).map((d) => d.item);
}

export interface BuildPartitionCrlInput {
  readonly issuer: CaHandle;
  readonly due: DuePartition;
  /** The URL its leaves name (ca/issuer-urls.ts partitionCrlUrl), repeated in its issuing distribution point. */
  readonly url: string;
  readonly nowMs: number;
  readonly nextUpdateSeconds: number;
}

/**
 * Signs the partition's next CRL and returns the event that publishes it; ERR_CRL_OVER_BUDGET when
 * the signed CRL exceeds CRL_PARTITION_BYTES_MAX (about 4,600 entries: more revocations than the
 * partition count was chosen for), so nothing over the budget reaches the log.
 */
export async function buildPartitionCrlEvent(input: BuildPartitionCrlInput): Promise<PartitionCrlPublishedEvent> {
  const { issuer, due } = input;
  const thisUpdate = truncateToSeconds(new Date(input.nowMs));
  const nextUpdate = new Date(thisUpdate.getTime() + input.nextUpdateSeconds * 1000);
  const crlNumber = (due.latest?.crlNumber ?? 0) + 1;
  const revoked = revokedEntries(due.revoked);
  const crl = await buildCrl({ issuer: issuer.cert, signer: issuer.signer, crlNumber, thisUpdate, nextUpdate, revoked, partition: { distributionPointUrl: input.url } });
  checkCrlBudget(crl.der, CRL_PARTITION_BYTES_MAX, `partition ${due.partition} CRL of issuer ${issuer.issuerId} (${revoked.length} entries)`);
  return {
    type: 'PartitionCrlPublished',
    issuerId: issuer.issuerId,
    partition: due.partition,
    crlNumber,
    crlDer: crl.der,
    thisUpdate: thisUpdate.getTime(),
    nextUpdate: nextUpdate.getTime(),
  };
}
