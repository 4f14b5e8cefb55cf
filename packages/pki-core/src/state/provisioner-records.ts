// What the state holds for provisioners (table `provisioners`), and how its keys are built: one
// table, one key prefix per record kind, omitted from snapshots while empty (tables.ts).
import type { ProvisionerSpec } from './provisioner-events.ts';

export interface ProvisionerRecord extends ProvisionerSpec {
  kind: 'provisioner';
  addedBy: string;
  addedAt: number;
}

/** A spent one-time token: its `jti` is refused from now until it expires. */
interface ProvisionerTokenRecord {
  kind: 'token';
  provisioner: string;
  tokenId: string;
  subject: string;
  expiresAt: number;
  usedAt: number;
}

/** The spent tokens by expiry, so apply forgets the expired ones without a scan. */
interface ProvisionerTokenExpiryRecord {
  kind: 'tokenExpiry';
  provisioner: string;
  tokenId: string;
}

/**
 * A rate-limit bucket (node/provisioners/rate-limit.ts) of a provisioner, or of one identity
 * (`identity` set) of it. A bucket full again is as good as none: it is forgotten after `fullAtMs`.
 */
export interface ProvisionerBucketRecord {
  kind: 'bucket';
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

/** The bucket of `provisioner`, or of its `identity` (a token's `sub`, escaped: keys are ASCII). */
export function provisionerBucketKey(provisioner: string, identity?: string): string {
  const base = 'bucket' + SEP + provisioner;
  return identity === undefined ? base : base + SEP + encodeURIComponent(identity);
}

const PROVISIONER_BUCKET_FULL_PREFIX = 'bucketFull';

export function provisionerBucketFullKey(fullAtMs: number, bucketKey: string): string {
  return PROVISIONER_BUCKET_FULL_PREFIX + SEP + fullAtMs.toString(16).padStart(16, '0') + SEP + bucketKey;
}

/** The key range of the buckets full again before `ms`. */
export function provisionerBucketsFullBefore(ms: number): { gte: string; lt: string } {
  return { gte: PROVISIONER_BUCKET_FULL_PREFIX + SEP, lt: PROVISIONER_BUCKET_FULL_PREFIX + SEP + ms.toString(16).padStart(16, '0') };
}
