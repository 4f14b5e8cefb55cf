// When a CA or TLS certificate is renewed (docs/architecture.md §4.2 lifetimes): before two
// thirds of its lifetime, and early enough that what it must sign still fits inside it — an
// issuer whose remaining validity is shorter than the default lifetime of what it signs would cut
// every new certificate short (RFC 5280 §6.1.3: nothing validates past its issuer's end). Pure:
// time comes in as `nowMs`.

/** Renewal starts once this share of a certificate's lifetime has passed. */
const RENEW_AT_LIFETIME_FRACTION = 2 / 3;

export interface CertificateWindow {
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

/**
 * The moment renewal of `window` begins: at two thirds of its lifetime, or earlier when less
 * than `leadSeconds` (the longest default lifetime of what it signs) would then remain.
 */
export function renewAtMs(window: CertificateWindow, leadSeconds: number): number {
  if (!(window.notAfterMs > window.notBeforeMs)) throw new TypeError('renewAtMs: notAfter must be after notBefore');
  const byFraction = window.notBeforeMs + Math.floor((window.notAfterMs - window.notBeforeMs) * RENEW_AT_LIFETIME_FRACTION);
  return Math.min(byFraction, window.notAfterMs - leadSeconds * 1000);
}

export interface RenewalInput {
  readonly current: CertificateWindow;
  readonly leadSeconds: number;
  readonly nowMs: number;
  /** The lifetime a successor would be given (its profile's default). */
  readonly lifetimeSeconds: number;
  /** When the CA that would sign the successor ends: the successor is cut to it. */
  readonly issuerNotAfterMs: number;
}

/**
 * True when `current` is due and a successor signed now would end later than it. A successor
 * that cannot end later gains nothing (its issuer is renewed first; then this one is).
 */
export function renewalDue(input: RenewalInput): boolean {
  if (input.nowMs < renewAtMs(input.current, input.leadSeconds)) return false;
  const successorNotAfterMs = Math.min(input.nowMs + input.lifetimeSeconds * 1000, input.issuerNotAfterMs);
  return successorNotAfterMs > input.current.notAfterMs;
}
