// Partitioned CRLs (RFC 5280 §5.2.5 issuing distribution point; docs/architecture.md §4.5): a node
// ICA created with a partition count P (`CaCertificateInstalled.crlPartitions`, fixed for that CA)
// splits its revocations over P CRLs by serial, so no CRL outgrows `CRL_PARTITION_BYTES_MAX`
// however many it revokes. Partition k of a serial is the serial's value mod P; P is a power of
// two, so that is its low bits, which are uniform (serials are random, ca/serial.ts) where the
// leading bits are not (the top bit of a positive DER INTEGER is 0).
import { normalizeSerialHex } from '../ca/serial.ts';

/** The most partitions a CA may have: each one is a CRL re-signed at least every half validity. */
export const CRL_PARTITIONS_MAX = 1024;
/** The partition count of a node ICA created without one being asked for. */
export const CRL_PARTITIONS_DEFAULT = 256;
/** The size budget of one partition CRL, hence of the Raft entry that carries it. */
export const CRL_PARTITION_BYTES_MAX = 256 * 1024;

/** A valid partition count: a power of two from 1 to CRL_PARTITIONS_MAX. */
export function isCrlPartitionCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 && n <= CRL_PARTITIONS_MAX && (n & (n - 1)) === 0;
}

/** The partition (0..partitions-1) whose CRL lists `serialHex`: the serial mod `partitions`. */
export function crlPartitionOf(serialHex: string, partitions: number): number {
  if (!isCrlPartitionCount(partitions)) throw new TypeError(`crlPartitionOf: ${String(partitions)} is not a partition count`);
  const hex = normalizeSerialHex(serialHex);
  // CRL_PARTITIONS_MAX ≤ 2^16: the last four hex digits hold every bit the modulus keeps.
  return Number.parseInt(hex.slice(-4), 16) % partitions;
}

/** Where partition `partition` of an issuer's CRL is kept: the `crls` table, under a suffix no issuer id has (ids are hex). */
export function partitionCrlKey(issuerId: string, partition: number): string {
  return `${issuerId}-p${partition}`;
}
