// Apply handlers of the provisioner events (provisioner-events.ts). Preconditions are checked
// against the state given, so every replica accepts or rejects alike; the proposers
// (node/provisioners/) check the same first and answer with the same codes.
import { bucketRule, rateLimitedMessage, shareOf, takeToken } from '../node/provisioners/rate-limit.ts';
import type { RenewalCharge } from './events.ts';
import type { ProvisionerAddedEvent, ProvisionerRemovedEvent, ProvisionerTokenUsedEvent } from './provisioner-events.ts';
import {
  provisionerBucketFullKey,
  provisionerBucketKey,
  provisionerBucketsFullBefore,
  provisionerKey,
  provisionerTokenExpiryKey,
  provisionerTokenKey,
  provisionerTokensExpiredBefore,
  type BucketScope,
  type ProvisionerBucketRecord,
  type ProvisionerRecord,
} from './provisioner-records.ts';
import { reject, type ApplyResult } from './outcome.ts';
import type { StateTxn } from './txn.ts';

/**
 * Each spend forgets at most this many expired spends: the table stays bounded by the spends of
 * the last token lifetime, and one event stays bounded work.
 */
const EXPIRED_TOKENS_FORGOTTEN_PER_SPEND_MAX = 8;
/** Likewise for rate-limit buckets full again (two are written per spend at most). */
const FULL_BUCKETS_FORGOTTEN_PER_SPEND_MAX = 8;

export async function applyProvisionerAdded(tx: StateTxn, ev: ProvisionerAddedEvent): Promise<ApplyResult> {
  const { name } = ev.provisioner;
  if (await tx.has('provisioners', provisionerKey(name))) reject('ERR_ALREADY_EXISTS', `provisioner ${name} already exists: remove it first`);
  tx.put('provisioners', provisionerKey(name), { kind: 'provisioner', ...ev.provisioner, addedBy: ev.requestedBy, addedAt: ev.at });
  return { type: ev.type };
}

export async function applyProvisionerRemoved(tx: StateTxn, ev: ProvisionerRemovedEvent): Promise<ApplyResult> {
  if (!(await tx.has('provisioners', provisionerKey(ev.name)))) reject('ERR_NOT_FOUND', `provisioner ${ev.name} does not exist`);
  tx.del('provisioners', provisionerKey(ev.name));
  // Its own bucket goes with it; its identities' buckets are forgotten once full (forgetFullBuckets).
  const bucket = await tx.get('provisioners', provisionerBucketKey(ev.name));
  if (bucket?.kind === 'bucket') {
    tx.del('provisioners', provisionerBucketKey(ev.name));
    tx.del('provisioners', provisionerBucketFullKey(bucket.fullAtMs, provisionerBucketKey(ev.name), 'global'));
  }
  return { type: ev.type };
}

export async function applyProvisionerTokenUsed(tx: StateTxn, ev: ProvisionerTokenUsedEvent): Promise<ApplyResult> {
  const provisioner = await tx.get('provisioners', provisionerKey(ev.provisioner));
  if (provisioner?.kind !== 'provisioner') reject('ERR_NOT_FOUND', `provisioner ${ev.provisioner} does not exist`);
  if (ev.expiresAt <= ev.at) reject('ERR_AUTH_TOKEN_EXPIRED', `the token of provisioner ${ev.provisioner} had expired when it was spent`);
  const key = provisionerTokenKey(ev.provisioner, ev.tokenId);
  if (await tx.has('provisioners', key)) reject('ERR_AUTH_TOKEN_USED', `token ${ev.tokenId} of provisioner ${ev.provisioner} was already used`);
  // Both buckets are judged before either is written: a refused spend changes nothing.
  const taken = [await takeFrom(tx, provisioner, undefined, ev.at, GLOBAL), await takeFrom(tx, provisioner, ev.subject, ev.at, GLOBAL)];
  await forgetExpiredTokens(tx, ev.at);
  await forgetFullBuckets(tx, ev.at, 'global');
  for (const bucket of taken) if (bucket !== undefined) putBucket(tx, bucket);
  tx.put('provisioners', key, { kind: 'token', provisioner: ev.provisioner, tokenId: ev.tokenId, subject: ev.subject, expiresAt: ev.expiresAt, usedAt: ev.at, ...(ev.spentFor === undefined ? {} : { spentFor: { ...ev.spentFor } }) });
  tx.put('provisioners', provisionerTokenExpiryKey(ev.expiresAt, ev.provisioner, ev.tokenId), { kind: 'tokenExpiry', provisioner: ev.provisioner, tokenId: ev.tokenId });
  return { type: ev.type };
}

/** A spend that expired before `nowMs` can never verify again (its `exp` is past): forget it. */
async function forgetExpiredTokens(tx: StateTxn, nowMs: number): Promise<void> {
  const expired = await tx.range('provisioners', { ...provisionerTokensExpiredBefore(nowMs), limit: EXPIRED_TOKENS_FORGOTTEN_PER_SPEND_MAX });
  for (const [expiryKey, record] of expired) {
    if (record.kind !== 'tokenExpiry') throw new Error(`assertion failed: ${JSON.stringify(expiryKey)} is not a token expiry record`);
    tx.del('provisioners', expiryKey);
    tx.del('provisioners', provisionerTokenKey(record.provisioner, record.tokenId));
  }
}

/** Which buckets, and the share of each rule they hold: all of it cluster-wide, 1/n in each of n AZs. */
interface BucketShare {
  scope: BucketScope;
  azCount: number;
}

const GLOBAL: BucketShare = { scope: 'global', azCount: 1 };

/**
 * A renewal of a certificate a provisioner's token led to (`Issued.renewalCharge`): a local-log
 * event, so it takes from this AZ's share of the provisioner's buckets (docs/architecture.md
 * §16.1). A removed provisioner charges nothing: its certificates renew as any other.
 */
export async function chargeRenewal(tx: StateTxn, charge: RenewalCharge, atMs: number): Promise<void> {
  const provisioner = await tx.get('provisioners', provisionerKey(charge.provisioner));
  if (provisioner?.kind !== 'provisioner') return;
  const share: BucketShare = { scope: 'az', azCount: Math.max(1, (await tx.range('azs', {})).length) };
  const taken = [await takeFrom(tx, provisioner, undefined, atMs, share), await takeFrom(tx, provisioner, charge.identity, atMs, share)];
  await forgetFullBuckets(tx, atMs, 'az');
  for (const bucket of taken) if (bucket !== undefined) putBucket(tx, bucket);
}

/** The bucket after one token is taken at `atMs`, or the rejection ERR_RATE_LIMITED; undefined without a rule. */
async function takeFrom(tx: StateTxn, provisioner: ProvisionerRecord, identity: string | undefined, atMs: number, share: BucketShare): Promise<ProvisionerBucketRecord | undefined> {
  const whole = bucketRule(provisioner.policy.rateLimit, identity);
  if (whole === undefined) return undefined;
  const rule = shareOf(whole, share.azCount);
  const key = provisionerBucketKey(provisioner.name, identity, share.scope);
  const stored = await tx.get('provisioners', key);
  const bucket = stored?.kind === 'bucket' ? stored : undefined;
  const result = takeToken(rule, bucket, atMs);
  if (!result.ok) reject('ERR_RATE_LIMITED', rateLimitedMessage(provisioner.name, identity, rule, result.retryAfterSeconds, share.scope === 'az'));
  if (bucket !== undefined) tx.del('provisioners', provisionerBucketFullKey(bucket.fullAtMs, key, share.scope));
  return { kind: 'bucket', scope: share.scope, provisioner: provisioner.name, ...(identity === undefined ? {} : { identity }), ...result.bucket, fullAtMs: result.fullAtMs };
}

function putBucket(tx: StateTxn, bucket: ProvisionerBucketRecord): void {
  const key = provisionerBucketKey(bucket.provisioner, bucket.identity, bucket.scope);
  tx.put('provisioners', key, bucket);
  tx.put('provisioners', provisionerBucketFullKey(bucket.fullAtMs, key, bucket.scope), { kind: 'bucketFull', bucketKey: key });
}

/** A bucket full again before `nowMs` takes the next token as a new one would: forget it. */
async function forgetFullBuckets(tx: StateTxn, nowMs: number, scope: BucketScope): Promise<void> {
  const full = await tx.range('provisioners', { ...provisionerBucketsFullBefore(nowMs, scope), limit: FULL_BUCKETS_FORGOTTEN_PER_SPEND_MAX });
  for (const [fullKey, record] of full) {
    if (record.kind !== 'bucketFull') throw new Error(`assertion failed: ${JSON.stringify(fullKey)} is not a bucket index record`);
    tx.del('provisioners', fullKey);
    tx.del('provisioners', record.bucketKey);
  }
}
