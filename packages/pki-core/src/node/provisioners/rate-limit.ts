// Token buckets of the provisioner rate limits (docs/architecture.md §16.1): a bucket holds up
// to `burst` tokens and refills `perSecond` (or `perHour`) tokens over time; each issuance takes
// one. `takeToken` is a pure step over an explicit bucket and time (model: cluster/vip-fence.ts),
// so the apply handlers (state/apply-provisioners.ts: `ProvisionerTokenUsed` on the cluster-wide
// buckets, a renewal's `Issued` on its AZ's share) evaluate it from the event's own `at` and every
// replica reaches the same answer; the node runs the same step over its applied state first to
// refuse early (rate-limit-refusal.ts).
import { PkiError } from '../../errors.ts';

/** One bucket's shape: at most `burst` issuances at once, refilled at one rate. */
export interface RateLimitRule {
  readonly burst: number;
  /** Exactly one of the two rates. */
  readonly perSecond?: number;
  readonly perHour?: number;
}

/** The rate limits of a provisioner's policy; either may be absent (no limit of that kind). */
export interface ProvisionerRateLimit {
  /** One bucket for every issuance with the provisioner's tokens, whoever asks. */
  readonly perProvisioner?: RateLimitRule;
  /** One bucket per requester identity: the token's `sub`. */
  readonly perIdentity?: RateLimitRule;
}

/** A bucket as the state holds it: `tokens` (may be fractional) left at `atMs`. */
export interface BucketState {
  readonly tokens: number;
  readonly atMs: number;
}

export type TakeResult = { ok: true; bucket: BucketState; fullAtMs: number } | { ok: false; retryAfterSeconds: number };

const BURST_MAX = 1_000_000;
const PER_SECOND_MAX = 10_000;
const PER_HOUR_MAX = 36_000_000;
const SECOND_MS = 1000;
const HOUR_MS = 3_600_000;

/** The rule of a provisioner's own bucket (`identity` undefined) or of one identity's bucket. */
export function bucketRule(rateLimit: ProvisionerRateLimit | undefined, identity: string | undefined): RateLimitRule | undefined {
  return identity === undefined ? rateLimit?.perProvisioner : rateLimit?.perIdentity;
}

/** How many milliseconds one token takes to come back. */
function refillIntervalMs(rule: RateLimitRule): number {
  return rule.perSecond !== undefined ? SECOND_MS / rule.perSecond : HOUR_MS / rule.perHour!;
}

/**
 * Takes one token from `bucket` (absent: a full one) at `nowMs`. A time before the bucket's own
 * (another proposer's clock behind) refills nothing and never moves the bucket back. Refused:
 * the whole seconds until a token is back (at least 1), and the bucket is left as it was.
 */
export function takeToken(rule: RateLimitRule, bucket: BucketState | undefined, nowMs: number): TakeResult {
  const intervalMs = refillIntervalMs(rule);
  const atMs = Math.max(nowMs, bucket?.atMs ?? nowMs);
  const elapsedMs = atMs - (bucket?.atMs ?? atMs);
  const tokens = bucket === undefined ? rule.burst : Math.min(rule.burst, bucket.tokens + elapsedMs / intervalMs);
  if (tokens < 1) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((1 - tokens) * intervalMs + (atMs - nowMs)) / SECOND_MS)) };
  const left = tokens - 1;
  return { ok: true, bucket: { tokens: left, atMs }, fullAtMs: atMs + Math.ceil((rule.burst - left) * intervalMs) };
}

function invalid(field: string, why: string): never {
  throw new PkiError('ERR_INPUT_INVALID', `${field}: ${why}`, { field });
}

function wholeIn(v: unknown, field: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) invalid(field, `a whole number, 1..${max}`);
  return v;
}

function validateRule(data: unknown, field: string): RateLimitRule {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) invalid(field, 'an object { burst, perSecond | perHour }');
  const o = data as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['burst', 'perSecond', 'perHour'].includes(k)) invalid(`${field}.${k}`, 'is not a known field');
  const burst = wholeIn(o['burst'], `${field}.burst`, BURST_MAX);
  if ((o['perSecond'] === undefined) === (o['perHour'] === undefined)) invalid(field, 'give exactly one of perSecond and perHour');
  if (o['perSecond'] !== undefined) return { burst, perSecond: wholeIn(o['perSecond'], `${field}.perSecond`, PER_SECOND_MAX) };
  return { burst, perHour: wholeIn(o['perHour'], `${field}.perHour`, PER_HOUR_MAX) };
}

/** Checks `data` (an admin request, a log entry) as a policy's `rateLimit`; unknown fields are refused. */
export function validateRateLimit(data: unknown, field: string): ProvisionerRateLimit {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) invalid(field, 'an object { perProvisioner?, perIdentity? }');
  const o = data as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['perProvisioner', 'perIdentity'].includes(k)) invalid(`${field}.${k}`, 'is not a known field');
  return {
    ...(o['perProvisioner'] === undefined ? {} : { perProvisioner: validateRule(o['perProvisioner'], `${field}.perProvisioner`) }),
    ...(o['perIdentity'] === undefined ? {} : { perIdentity: validateRule(o['perIdentity'], `${field}.perIdentity`) }),
  };
}

/**
 * One AZ's share of `rule` when the cluster has `azCount` AZs: burst and rate divided (a burst of
 * at least 1). Renewals are judged in each AZ's local log on such a share (docs/architecture.md §16.1).
 */
export function shareOf(rule: RateLimitRule, azCount: number): RateLimitRule {
  if (azCount === 1) return rule;
  const burst = Math.max(1, Math.floor(rule.burst / azCount));
  return rule.perSecond !== undefined ? { burst, perSecond: rule.perSecond / azCount } : { burst, perHour: rule.perHour! / azCount };
}

/** The refusal's message, alike from the node and from apply: whose bucket, its rule, when to retry. */
export function rateLimitedMessage(provisioner: string, identity: string | undefined, rule: RateLimitRule, retryAfterSeconds: number, azShare = false): string {
  const whose = identity === undefined ? `provisioner ${provisioner}` : `identity ${JSON.stringify(identity)} of provisioner ${provisioner}`;
  const rate = rule.perSecond !== undefined ? `${rule.perSecond}/s` : `${rule.perHour}/h`;
  return `${whose} reached its rate limit${azShare ? " for renewals (this AZ's share" : ' ('}${azShare ? ': ' : ''}burst ${rule.burst}, ${rate}); retry in ${retryAfterSeconds} s`;
}
