// When a certificate is renewed (docs/spec.md §5.8): at 2/3 of its validity (notBefore to
// notAfter, as the certificate states it) less a random jitter, so that a fleet issued together
// does not come back together; failed attempts back off exponentially up to a cap. Pure functions
// of the validity, the attempt count and a random fraction, so the schedule is tested without time.

/** The part of the validity after which a certificate is due for renewal. */
const RENEW_AT_FRACTION = 2 / 3;
/**
 * The jitter taken off the 2/3 point is a random part of the validity in [1/40, 1/20]: at most
 * 1/20, and at least 1/40 so that the renewal (its round trip and commit) completes before the
 * 2/3 point, not merely starts there.
 */
const JITTER_FRACTION_MIN = 1 / 40;
const JITTER_FRACTION_MAX = 1 / 20;
/** First retry delay after a failed attempt; doubled on each further failure. */
const RETRY_DELAY_MS_MIN = 1_000;
/** Longest delay between attempts (a cap below 1/20 of the validity applies to short ones). */
const RETRY_DELAY_MS_MAX = 5 * 60_000;

export interface Validity {
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

function lifetimeMs(v: Validity): number {
  return Math.max(0, v.notAfterMs - v.notBeforeMs);
}

/** The 2/3 point of the validity: from then on the certificate needs renewal (`needs-renewal`). */
export function renewalThresholdMs(v: Validity): number {
  return v.notBeforeMs + Math.floor(lifetimeMs(v) * RENEW_AT_FRACTION);
}

/** When the daemon renews: the 2/3 point less a jitter; `random` is a fraction in [0, 1). */
export function renewalDueMs(v: Validity, random: number): number {
  if (!(random >= 0 && random < 1)) throw new TypeError(`random: a fraction in [0, 1), not ${random}`);
  const jitterFraction = JITTER_FRACTION_MIN + (JITTER_FRACTION_MAX - JITTER_FRACTION_MIN) * random;
  return renewalThresholdMs(v) - Math.floor(lifetimeMs(v) * jitterFraction);
}

/**
 * The delay before attempt `failures + 1` after `failures` failed ones (1, 2, 4 … seconds), capped
 * at 1/20 of the validity (at least the first delay) and at five minutes, with up to a quarter
 * taken off at random so retries from many hosts spread out.
 */
export function retryDelayMs(failures: number, v: Validity, random: number): number {
  if (!Number.isSafeInteger(failures) || failures < 1) throw new TypeError(`failures: a whole number ≥ 1, not ${failures}`);
  const capMs = Math.max(RETRY_DELAY_MS_MIN, Math.min(RETRY_DELAY_MS_MAX, Math.floor(lifetimeMs(v) * JITTER_FRACTION_MAX)));
  const exponentialMs = RETRY_DELAY_MS_MIN * 2 ** Math.min(failures - 1, 30);
  const delayMs = Math.min(capMs, exponentialMs);
  return delayMs - Math.floor((delayMs / 4) * random);
}
