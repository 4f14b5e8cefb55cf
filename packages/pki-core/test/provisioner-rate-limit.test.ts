// Provisioner rate limits (src/node/provisioners/rate-limit.ts, docs/architecture.md §16.1): the
// token bucket as a pure step, its policy field, and its enforcement when `ProvisionerTokenUsed`
// is applied (src/state/apply-provisioners.ts): from the event's own time, so every replica agrees.
import { expect } from 'chai';
import { isPkiError } from '../src/errors.ts';
import { validateProvisionerPolicy } from '../src/node/provisioners/provisioner-policy.ts';
import { shareOf, takeToken, validateRateLimit, type BucketState, type RateLimitRule } from '../src/node/provisioners/rate-limit.ts';
import { decodeEvent, encodeEvent, type ApplyOutcome, type EventOf, type PkiEvent, type PkiStateStore } from '../src/state/index.ts';
import { applyAll, azAdded, baseLog, clusterCreated, issued, openStore, removeTempDirs, T0 } from './state-fixtures.ts';

/** Takes `n` tokens at `atMs` in a row, and answers each result's ok or retry-after. */
function takeMany(rule: RateLimitRule, start: BucketState | undefined, atMs: number, n: number): { answers: (true | number)[]; bucket: BucketState | undefined } {
  let bucket = start;
  const answers: (true | number)[] = [];
  for (let i = 0; i < n; i++) {
    const r = takeToken(rule, bucket, atMs);
    if (r.ok) bucket = r.bucket;
    answers.push(r.ok ? true : r.retryAfterSeconds);
  }
  return { answers, bucket };
}

describe('token bucket (rate-limit.ts takeToken)', () => {
  it('a new bucket is full: burst takes succeed, the next is refused with the seconds until one token is back', () => {
    expect(takeMany({ burst: 3, perSecond: 1 }, undefined, T0, 4).answers).to.deep.equal([true, true, true, 1]);
    expect(takeMany({ burst: 2, perHour: 60 }, undefined, T0, 3).answers).to.deep.equal([true, true, 60]);
  });

  it('refills at its rate, never above burst', () => {
    const rule = { burst: 2, perHour: 60 }; // one token a minute
    const { bucket } = takeMany(rule, undefined, T0, 2);
    expect(takeToken(rule, bucket, T0 + 30_000)).to.deep.equal({ ok: false, retryAfterSeconds: 30 });
    const after = takeToken(rule, bucket, T0 + 60_000);
    expect(after.ok).to.equal(true);
    expect(takeToken(rule, after.ok ? after.bucket : undefined, T0 + 60_000).ok).to.equal(false);
    // An hour idle refills to burst (2), not 60.
    expect(takeMany(rule, bucket, T0 + 3_600_000, 3).answers).to.deep.equal([true, true, 60]);
  });

  it('says when the bucket is full again (when it may be forgotten)', () => {
    const r = takeToken({ burst: 4, perSecond: 2 }, undefined, T0);
    expect(r).to.deep.equal({ ok: true, bucket: { tokens: 3, atMs: T0 }, fullAtMs: T0 + 500 });
  });

  it('a time before the bucket (a proposer whose clock is behind) refills nothing and never moves the bucket back', () => {
    const rule = { burst: 1, perSecond: 1 };
    const { bucket } = takeMany(rule, undefined, T0 + 10_000, 1);
    expect(takeToken(rule, bucket, T0)).to.deep.equal({ ok: false, retryAfterSeconds: 11 });
    const r = takeToken(rule, bucket, T0 + 11_000);
    expect(r.ok && r.bucket).to.deep.equal({ tokens: 0, atMs: T0 + 11_000 });
  });

  it('a refusal leaves the bucket as it was (the caller keeps the old state)', () => {
    const rule = { burst: 1, perSecond: 1 };
    const { bucket } = takeMany(rule, undefined, T0, 1);
    const frozen = structuredClone(bucket);
    takeMany(rule, bucket, T0 + 100, 5);
    expect(bucket).to.deep.equal(frozen);
  });
});

describe('policy.rateLimit: validation names the field', () => {
  const base = { profiles: ['serverLeaf'], maxLifetimeSeconds: 3600 };
  const fieldOf = (rateLimit: unknown): string | undefined => {
    try {
      validateProvisionerPolicy({ ...base, rateLimit });
    } catch (e) {
      if (isPkiError(e, 'ERR_INPUT_INVALID')) return e.field;
      throw e;
    }
    return undefined;
  };

  it('keeps a valid limit, and a policy without one has no rateLimit field', () => {
    const rateLimit = { perProvisioner: { burst: 10, perSecond: 5 }, perIdentity: { burst: 2, perHour: 6 } };
    expect(validateProvisionerPolicy({ ...base, rateLimit }).rateLimit).to.deep.equal(rateLimit);
    expect(validateProvisionerPolicy(base)).to.not.have.property('rateLimit');
  });

  it('refuses bad limits', () => {
    expect(fieldOf([])).to.equal('policy.rateLimit');
    expect(fieldOf({ perAz: {} })).to.equal('policy.rateLimit.perAz');
    expect(fieldOf({ perProvisioner: { burst: 0, perSecond: 1 } })).to.equal('policy.rateLimit.perProvisioner.burst');
    expect(fieldOf({ perProvisioner: { burst: 1 } })).to.equal('policy.rateLimit.perProvisioner');
    expect(fieldOf({ perProvisioner: { burst: 1, perSecond: 1, perHour: 1 } })).to.equal('policy.rateLimit.perProvisioner');
    expect(fieldOf({ perIdentity: { burst: 1, perHour: 1.5 } })).to.equal('policy.rateLimit.perIdentity.perHour');
    expect(() => validateRateLimit({ perIdentity: { burst: 2, perSecond: 1, extra: 1 } }, 'r')).to.throw('r.perIdentity.extra');
  });
});

const JWK = { kty: 'EC', crv: 'P-256', x: 'B'.repeat(43), y: 'C'.repeat(43) } as const;
const RATE_LIMIT = { perProvisioner: { burst: 3, perSecond: 1 }, perIdentity: { burst: 2, perHour: 60 } };
const POLICY = { dnsSuffixes: ['.svc.test'], ipCidrs: [], uriPrefixes: [], profiles: ['server'], maxLifetimeSeconds: 3600, rateLimit: RATE_LIMIT };
const added: EventOf<'ProvisionerAdded'> = { type: 'ProvisionerAdded', provisioner: { name: 'ci', publicKey: JWK, policy: POLICY }, requestedBy: 'admin', at: T0 };
let tokenCount = 0;
const spent = (subject: string, at: number): EventOf<'ProvisionerTokenUsed'> => ({
  type: 'ProvisionerTokenUsed',
  provisioner: 'ci',
  tokenId: `token-${String(tokenCount++).padStart(10, '0')}`,
  subject,
  expiresAt: at + 600_000,
  at,
});

describe('rate limits at apply time: ProvisionerTokenUsed from its own `at`', () => {
  let store: PkiStateStore;
  beforeEach(async () => {
    store = await openStore();
    await applyAll(store, [clusterCreated(), added]);
  });
  afterEach(() => store.close());
  after(removeTempDirs);

  const apply = (ev: PkiEvent): Promise<ApplyOutcome | null> => store.apply(ev, { index: store.appliedIndex() + 1 });
  const code = (o: ApplyOutcome | null): string => (o !== null && !o.ok ? o.error.code : 'accepted');

  it('the policy with its rateLimit round-trips through the codec', () => {
    expect(decodeEvent(encodeEvent(added))).to.deep.equal(added);
  });

  it('per identity: the third spend of one subject is refused, naming it; others still spend', async () => {
    expect(code(await apply(spent('a.svc.test', T0 + 1)))).to.equal('accepted');
    expect(code(await apply(spent('a.svc.test', T0 + 2)))).to.equal('accepted');
    const refused = await apply(spent('a.svc.test', T0 + 3));
    expect(code(refused)).to.equal('ERR_RATE_LIMITED');
    expect(refused !== null && !refused.ok && refused.error.message).to.match(/identity "a\.svc\.test" of provisioner ci .*retry in 60 s/);
    expect(code(await apply(spent('b.svc.test', T0 + 4)))).to.equal('accepted');
  });

  it('per provisioner: the fourth spend in a second is refused whoever asks; a second later one more goes', async () => {
    for (const s of ['a', 'b', 'c']) expect(code(await apply(spent(`${s}.svc.test`, T0 + 10)))).to.equal('accepted');
    expect(code(await apply(spent('d.svc.test', T0 + 10)))).to.equal('ERR_RATE_LIMITED');
    expect(code(await apply(spent('d.svc.test', T0 + 1010)))).to.equal('accepted');
    expect(code(await apply(spent('e.svc.test', T0 + 1010)))).to.equal('ERR_RATE_LIMITED');
  });

  it('a refused spend changes nothing: its token is not spent, the buckets are as before', async () => {
    await applyAll(store, [spent('a.svc.test', T0 + 1), spent('a.svc.test', T0 + 2)]);
    const before = [await store.provisionerBucket('ci'), await store.provisionerBucket('ci', 'a.svc.test')];
    const third = spent('a.svc.test', T0 + 3);
    expect(code(await apply(third))).to.equal('ERR_RATE_LIMITED');
    expect((await store.provisionerTokenSpend('ci', third.tokenId)) !== undefined).to.equal(false);
    expect([await store.provisionerBucket('ci'), await store.provisionerBucket('ci', 'a.svc.test')]).to.deep.equal(before);
    // The same token, a minute on, spends.
    expect(code(await apply({ ...third, at: T0 + 60_003 }))).to.equal('accepted');
  });

  it('buckets full again are forgotten by later spends; a removed provisioner loses its own bucket', async () => {
    await applyAll(store, [spent('a.svc.test', T0 + 1), spent('b.svc.test', T0 + 2)]);
    expect(await store.provisionerBucket('ci', 'a.svc.test')).to.include({ tokens: 1, fullAtMs: T0 + 1 + 60_000 });
    await applyAll(store, [spent('c.svc.test', T0 + 3_600_000)]);
    expect(await store.provisionerBucket('ci', 'a.svc.test')).to.equal(undefined);
    expect(await store.provisionerBucket('ci', 'b.svc.test')).to.equal(undefined);
    expect(await store.provisionerBucket('ci', 'c.svc.test')).to.not.equal(undefined);
    await applyAll(store, [{ type: 'ProvisionerRemoved', name: 'ci', requestedBy: 'admin', at: T0 + 3_600_001 }]);
    expect(await store.provisionerBucket('ci')).to.equal(undefined);
  });
});

describe("rate limits of renewals: Issued.renewalCharge on this AZ's share, in the local log", () => {
  let store: PkiStateStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  after(removeTempDirs);

  const apply = (ev: PkiEvent): Promise<ApplyOutcome | null> => store!.apply(ev, { index: store!.appliedIndex() + 1 });
  const code = (o: ApplyOutcome | null): string => (o !== null && !o.ok ? o.error.code : 'accepted');
  let serial = 0x1000;
  const renewal = (identity: string, at: number, over: Partial<EventOf<'Issued'>> = {}): EventOf<'Issued'> =>
    issued((serial++).toString(16), { requester: `renew:x:${serial}`, renewalCharge: { provisioner: 'ci', identity }, at, ...over });

  it('one AZ gets the whole rule; n AZs each get burst/n (at least 1) and rate/n', () => {
    expect(shareOf({ burst: 4, perSecond: 2 }, 1)).to.deep.equal({ burst: 4, perSecond: 2 });
    expect(shareOf({ burst: 4, perSecond: 2 }, 2)).to.deep.equal({ burst: 2, perSecond: 1 });
    expect(shareOf({ burst: 2, perHour: 60 }, 3)).to.deep.equal({ burst: 1, perHour: 20 });
  });

  it('renewals of one identity beyond its share are refused (nothing recorded); the charge is kept on the record', async () => {
    store = await openStore();
    await applyAll(store, [...baseLog(), added]);
    expect(code(await apply(renewal('a.svc.test', T0 + 10)))).to.equal('accepted');
    expect(code(await apply(renewal('a.svc.test', T0 + 11)))).to.equal('accepted');
    const third = renewal('a.svc.test', T0 + 12);
    const refused = await apply(third);
    expect(code(refused)).to.equal('ERR_RATE_LIMITED');
    expect(refused !== null && !refused.ok && refused.error.message).to.match(/identity "a\.svc\.test" of provisioner ci reached its rate limit for renewals \(this AZ's share: burst 2, 60\/h\); retry in 60 s/);
    expect(await store.getCertificate(third.issuerId, third.serialHex)).to.equal(undefined);
    // Renewals have their own (AZ) buckets: the cluster-wide token buckets are untouched.
    expect(await store.provisionerBucket('ci', 'a.svc.test')).to.equal(undefined);
    const bucket = await store.provisionerBucket('ci', 'a.svc.test', 'az');
    expect([bucket?.scope, bucket !== undefined && bucket.tokens < 1]).to.deep.equal(['az', true]);
    const first = (await store.findBySerial('1000'))[0];
    expect(first).to.include({ provisioner: 'ci' });
  });

  it('with two AZs the share halves: the second renewal of one identity is refused', async () => {
    store = await openStore();
    await applyAll(store, [...baseLog(), azAdded('az2', '127.2.0.0/16', '127.2.0.1'), added]);
    expect(code(await apply(renewal('b.svc.test', T0 + 10)))).to.equal('accepted');
    expect(code(await apply(renewal('b.svc.test', T0 + 11)))).to.equal('ERR_RATE_LIMITED');
  });

  it('a retried renewal is answered with its certificate and not charged again; a removed provisioner charges nothing', async () => {
    store = await openStore();
    await applyAll(store, [...baseLog(), added]);
    const once = renewal('c.svc.test', T0 + 10);
    expect(code(await apply(once))).to.equal('accepted');
    const retried = await apply({ ...once, serialHex: 'abcd', at: T0 + 20 });
    expect(retried !== null && retried.ok && retried.result.type === 'Issued' && retried.result.duplicate).to.equal(true);
    expect(await store.provisionerBucket('ci', 'c.svc.test', 'az')).to.include({ tokens: 1 });
    await applyAll(store, [{ type: 'ProvisionerRemoved', name: 'ci', requestedBy: 'admin', at: T0 + 30 }]);
    for (let i = 0; i < 3; i++) expect(code(await apply(renewal('c.svc.test', T0 + 40 + i)))).to.equal('accepted');
  });
});
