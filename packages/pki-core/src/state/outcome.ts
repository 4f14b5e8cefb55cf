// What applying one committed event produced. Rejections are ordinary, deterministic outcomes:
// every replica rejects the same event with the same code, and the entry still counts as applied.
import type { PkiErrorCode } from '../errors.ts';
import type { PkiEventType } from './events.ts';
import type { LeafCertificateRecord } from './records.ts';

export interface ApplyMeta {
  /** The log index of the entry carrying the event. */
  index: number;
  term?: number;
}

interface ApplyError {
  code: PkiErrorCode;
  message: string;
}

interface IssuedResult {
  type: 'Issued';
  certificate: LeafCertificateRecord;
  /** True when an earlier certificate answered a retried request within the idempotency window. */
  duplicate: boolean;
}

interface ExpiredPrunedResult {
  type: 'ExpiredPruned';
  prunedCertificates: number;
  prunedRevocations: number;
  prunedTokens: number;
  /** True when the limit stopped the sweep early: propose another with the same `before`. */
  more: boolean;
}

interface PlainResult {
  type: Exclude<PkiEventType, 'Issued' | 'ExpiredPruned'>;
}

export type ApplyResult = IssuedResult | ExpiredPrunedResult | PlainResult;

export type ApplyOutcome = { ok: true; result: ApplyResult } | { ok: false; error: ApplyError };

/** Thrown by apply handlers for a failed precondition; becomes `{ ok: false }`. */
export class Rejection extends Error {
  constructor(
    readonly code: PkiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'Rejection';
  }
}

export function reject(code: PkiErrorCode, message: string): never {
  throw new Rejection(code, message);
}
