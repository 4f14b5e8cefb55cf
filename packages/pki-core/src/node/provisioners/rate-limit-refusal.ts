// The node's early look at a provisioner's buckets (rate-limit.ts), over its applied state, so a
// request the log would refuse is answered 429 with Retry-After before anything is proposed or
// signed. Apply judges the same buckets from the event's own time and has the last word
// (state/apply-provisioners.ts): token spends on the cluster-wide buckets, renewals on the AZ's share.
import { PkiError } from '../../errors.ts';
import type { RenewalCharge } from '../../state/events.ts';
import type { BucketScope, ProvisionerRecord } from '../../state/provisioner-records.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { bucketRule, rateLimitedMessage, shareOf, takeToken } from './rate-limit.ts';

/** ERR_RATE_LIMITED with Retry-After if the provisioner's bucket or the identity's has no token at `nowMs`. */
export async function rateLimitRefusal(store: PkiStateQueries, provisioner: ProvisionerRecord, identity: string, nowMs: number, scope: BucketScope = 'global'): Promise<PkiError | undefined> {
  const azCount = scope === 'global' ? 1 : Math.max(1, (await store.azs()).length);
  for (const who of [undefined, identity]) {
    const whole = bucketRule(provisioner.policy.rateLimit, who);
    if (whole === undefined) continue;
    const rule = shareOf(whole, azCount);
    const taken = takeToken(rule, await store.provisionerBucket(provisioner.name, who, scope), nowMs);
    if (!taken.ok) {
      const message = rateLimitedMessage(provisioner.name, who, rule, taken.retryAfterSeconds, scope === 'az');
      return new PkiError('ERR_RATE_LIMITED', message, { field: scope === 'az' ? 'certificate' : 'authorization', retryAfterSeconds: taken.retryAfterSeconds });
    }
  }
  return undefined;
}

/** Throws ERR_RATE_LIMITED when this AZ's share of the buckets a renewal is charged to is empty. */
export async function refuseRenewalIfLimited(store: PkiStateQueries, charge: RenewalCharge, nowMs: number): Promise<void> {
  const provisioner = await store.getProvisioner(charge.provisioner);
  if (provisioner === undefined) return;
  const refusal = await rateLimitRefusal(store, provisioner, charge.identity, nowMs, 'az');
  if (refusal !== undefined) throw refusal;
}

/** ERR_RATE_LIMITED from a refused commit, with the Retry-After the state applied since then gives (at least 1 s). */
export async function rateLimitedAfterCommit(store: PkiStateQueries, provisioner: ProvisionerRecord, identity: string, nowMs: number, message: string, scope: BucketScope = 'global'): Promise<PkiError> {
  const later = await rateLimitRefusal(store, provisioner, identity, nowMs, scope);
  return new PkiError('ERR_RATE_LIMITED', message, { field: scope === 'az' ? 'certificate' : 'authorization', retryAfterSeconds: later?.retryAfterSeconds ?? 1 });
}
