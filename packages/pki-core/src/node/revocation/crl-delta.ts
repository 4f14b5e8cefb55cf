// When an issuer's next CRL is a complete one and when a delta (RFC 5280 §5.2.4; docs/
// architecture.md §4.5): a complete CRL lists every unexpired revocation and is signed again once
// half its validity has passed. While it is small (below `deltaAboveBytes`), a revocation it
// misses makes a new complete CRL at once, as relying parties without delta support need. Above
// that, each new revocation goes into a delta listing what the complete CRL misses: a Raft entry
// then carries a delta of at most `deltaBytesMax` per change instead of the whole list; once the
// delta would outgrow that, a new complete CRL starts.
import { crlListedSerials } from '../../ca/crl-entries.ts';
import { normalizeSerialHex } from '../../ca/serial.ts';
import { pastHalfLife } from '../ca/ca-revocation.ts';
import type { CrlRecord, DeltaCrlRecord, RevocationRecord } from '../../state/records.ts';

/**
 * Upper bound on one CRL entry's DER (RFC 5280 §5.1.2.6): SEQUENCE header 2, serial ≤ 22,
 * time ≤ 17, reasonCode extension 14 — used to see a delta's size before signing it.
 */
const CRL_ENTRY_BYTES_MAX = 56;
/** What a delta CRL adds besides its entries: TBS fields, extensions, signature (P-384 or RSA-4096 included). */
const CRL_OVERHEAD_BYTES_MAX = 1200;

export type CrlPlan = { kind: 'none' } | { kind: 'complete' } | { kind: 'delta'; base: CrlRecord; missing: RevocationRecord[] };

export interface CrlPlanInput {
  readonly complete: CrlRecord | undefined;
  readonly delta: DeltaCrlRecord | undefined;
  /** Every unexpired revocation of the issuer (PkiStateQueries.listRevoked). */
  readonly revoked: readonly RevocationRecord[];
  readonly nowMs: number;
  /** A complete CRL smaller than this is signed again for every change; a larger one gets deltas. */
  readonly deltaAboveBytes: number;
  readonly deltaBytesMax: number;
}

export function planCrl(input: CrlPlanInput): CrlPlan {
  const { complete, delta, nowMs } = input;
  if (complete === undefined || pastHalfLife(complete, nowMs)) return { kind: 'complete' };
  const listed = crlListedSerials(complete.crlDer);
  const missing = input.revoked.filter((r) => !listed.has(normalizeSerialHex(r.serialHex)));
  if (missing.length === 0) return { kind: 'none' };
  if (complete.crlDer.length + missing.length * CRL_ENTRY_BYTES_MAX < input.deltaAboveBytes) return { kind: 'complete' };
  if (CRL_OVERHEAD_BYTES_MAX + missing.length * CRL_ENTRY_BYTES_MAX > input.deltaBytesMax) return { kind: 'complete' };
  const current = delta !== undefined && delta.baseCrlNumber === complete.crlNumber && !pastHalfLife(delta, nowMs);
  if (current) {
    const inDelta = crlListedSerials(delta.crlDer);
    if (missing.every((r) => inDelta.has(normalizeSerialHex(r.serialHex)))) return { kind: 'none' };
  }
  return { kind: 'delta', base: complete, missing };
}
