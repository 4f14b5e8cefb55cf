// Reconnect delays: exponential with "equal jitter" (half fixed, half random), so peers that lost
// a node at the same moment do not all redial it in lock-step, while the delay never collapses to
// zero. Randomness is injected (RandomSource) so tests replay.
import type { RandomSource } from '@adrestia/consensus';

export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
}

export function backoffDelayMs(attempt: number, options: BackoffOptions, random: RandomSource): number {
  if (!Number.isInteger(attempt) || attempt < 0) throw new TypeError(`attempt must be a non-negative integer: ${attempt}`);
  const exp = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt, 30));
  const half = Math.floor(exp / 2);
  return exp - half + random.nextInt(half + 1);
}
