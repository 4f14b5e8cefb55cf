// What the state holds for provisioners (table `provisioners`), and how its keys are built: one
// table, one key prefix per record kind, omitted from snapshots while empty (tables.ts).
import type { ProvisionerSpec, TokenSpentFor } from './provisioner-events.ts';

export interface ProvisionerRecord extends ProvisionerSpec {
  kind: 'provisioner';
  addedBy: string;
  addedAt: number;
}

/** A spent one-time token: its `jti` is refused from now until it expires. */
export interface ProvisionerTokenRecord {
  kind: 'token';
  provisioner: string;
  tokenId: string;
  subject: string;
  expiresAt: number;
  usedAt: number;
  /** The AZ and request it was spent for, when the spender named them (provisioner-events.ts). */
  spentFor?: TokenSpentFor;
}

/** The spent tokens by expiry, so apply forgets the expired ones without a scan. */
interface ProvisionerTokenExpiryRecord {
  kind: 'tokenExpiry';
  provisioner: string;
  tokenId: string;
}

/** Token spends are judged in the global log; renewals in the AZ's local log, on its share (§16.1). */
export type BucketScope = 'global' | 'az';

/**
 * A rate-limit bucket (node/provisioners/rate-limit.ts) of a provisioner, or of one identity
 * (`identity` set) of it. A bucket full again is as good as none: it is forgotten after `fullAtMs`.
 */
export interface ProvisionerBucketRecord {
  kind: 'bucket';
  scope: BucketScope;
  provisioner: string;
  identity?: string;
  tokens: number;
  atMs: number;
  fullAtMs: number;
}

/** The buckets by the time they are full again, so apply forgets them without a scan. */
interface ProvisionerBucketFullRecord {
  kind: 'bucketFull';
  bucketKey: string;
}

export type ProvisionerTableRecord = ProvisionerRecord | ProvisionerTokenRecord | ProvisionerTokenExpiryRecord | ProvisionerBucketRecord | ProvisionerBucketFullRecord;

const SEP = '\x00';

export const PROVISIONER_PREFIX = 'provisioner';

export function provisionerKey(name: string): string {
  return PROVISIONER_PREFIX + SEP + name;
}

export function provisionerTokenKey(provisioner: string, tokenId: string): string {
  return 'token' + SEP + provisioner + SEP + tokenId;
}

const PROVISIONER_TOKEN_EXPIRY_PREFIX = 'tokenExpiry';

// 16 hex digits, big-endian, as tables.ts expiryKey: string order is time order.
function expiryPart(ms: number): string {
  return PROVISIONER_TOKEN_EXPIRY_PREFIX + SEP + ms.toString(16).padStart(16, '0');
}

export function provisionerTokenExpiryKey(expiresAt: number, provisioner: string, tokenId: string): string {
  return expiryPart(expiresAt) + SEP + provisioner + SEP + tokenId;
}

/** The key range of the spends that expired before `ms`. */
export function provisionerTokensExpiredBefore(ms: number): { gte: string; lt: string } {
  return { gte: PROVISIONER_TOKEN_EXPIRY_PREFIX + SEP, lt: expiryPart(ms) };
}

const BUCKET_PREFIX: Record<BucketScope, string> = { global: 'bucket', az: 'azBucket' };

/** The bucket of `provisioner`, or of its `identity` (a token's `sub`, escaped: keys are ASCII). */
export function provisionerBucketKey(provisioner: string, identity?: string, scope: BucketScope = 'global'): string {
  const base = BUCKET_PREFIX[scope] + SEP + provisioner;
  return identity === undefined ? base : base + SEP + encodeURIComponent(identity);
}

function bucketFullPrefix(scope: BucketScope): string {
  return BUCKET_PREFIX[scope] + 'Full';
}

export function provisionerBucketFullKey(fullAtMs: number, bucketKey: string, scope: BucketScope): string {
  return bucketFullPrefix(scope) + SEP + fullAtMs.toString(16).padStart(16, '0') + SEP + bucketKey;
}

/** The key range of the buckets of `scope` full again before `ms`. */
export function provisionerBucketsFullBefore(ms: number, scope: BucketScope): { gte: string; lt: string } {
  return { gte: bucketFullPrefix(scope) + SEP, lt: bucketFullPrefix(scope) + SEP + ms.toString(16).padStart(16, '0') };
}
