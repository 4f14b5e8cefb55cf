// Where an AZ ICA's indirect CRL (RFC 5280 §5.2.5) is kept: in the `crls` table beside its own
// CRL, under the AZ ICA's id with a suffix no issuer id has (issuer ids are hex, ca-common.ts).
// Partition k of it (state/crl-partitions.ts) under `<AZ ICA>-indirect-p<k>`.
export function indirectCrlKey(azIcaIssuerId: string, partition?: number): string {
  return partition === undefined ? `${azIcaIssuerId}-indirect` : `${azIcaIssuerId}-indirect-p${partition}`;
}
