import { expect } from 'chai';
import { isPkiError } from '../src/errors.ts';
import { decodeEvent, encodeEvent, type ApplyOutcome, type EventOf, type PkiEvent, type PkiStateStore } from '../src/state/index.ts';
import { applyAll, clusterCreated, openStore, removeTempDirs, T0 } from './state-fixtures.ts';

const JWK = { kty: 'EC', crv: 'P-256', x: 'B'.repeat(43), y: 'C'.repeat(43) } as const;
const POLICY = { dnsSuffixes: ['.svc.test'], ipCidrs: ['10.0.0.0/8'], uriPrefixes: [], profiles: ['server'], maxLifetimeSeconds: 3600 };
const added = (over: Partial<EventOf<'ProvisionerAdded'>['provisioner']> = {}): EventOf<'ProvisionerAdded'> => ({
  type: 'ProvisionerAdded',
  provisioner: { name: 'ci', publicKey: JWK, policy: POLICY, ...over },
  requestedBy: 'admin',
  at: T0,
});
const spent = (tokenId: string, expiresAt: number, at: number): EventOf<'ProvisionerTokenUsed'> => ({
  type: 'ProvisionerTokenUsed',
  provisioner: 'ci',
  tokenId,
  subject: 'a.svc.test',
  expiresAt,
  at,
});

function malformedField(event: unknown): string {
  try {
    encodeEvent(event as PkiEvent);
  } catch (e) {
    if (isPkiError(e, 'ERR_EVENT_MALFORMED')) return e.field ?? e.message;
    throw e;
  }
  return expect.fail('expected ERR_EVENT_MALFORMED');
}

describe('provisioner events: codec', () => {
  it('round-trips ProvisionerAdded with its key and policy in canonical order', () => {
    const ev = added();
    expect(decodeEvent(encodeEvent(ev))).to.deep.equal(ev);
  });

  it('refuses what an admin could not have added, naming the field', () => {
    expect(malformedField(added({ name: 'no/slash' }))).to.equal('provisioner.name');
    expect(malformedField(added({ publicKey: { ...JWK, d: 'x' } as never }))).to.equal('provisioner.publicKey');
    expect(malformedField(added({ policy: { ...POLICY, profiles: [] } }))).to.equal('provisioner.policy.profiles');
    expect(malformedField(added({ policy: { ...POLICY, ipCidrs: ['10.0.0.1/8'] } }))).to.equal('provisioner.policy.ipCidrs[0]');
    expect(malformedField(spent('short', T0 + 1, T0))).to.equal('tokenId');
  });
});

describe('provisioner events: one-time tokens spent through the log', () => {
  let store: PkiStateStore;
  beforeEach(async () => {
    store = await openStore();
    await applyAll(store, [clusterCreated(), added()]);
  });
  afterEach(() => store.close());
  after(removeTempDirs);

  const apply = (ev: PkiEvent): Promise<ApplyOutcome | null> => store.apply(ev, { index: store.appliedIndex() + 1 });
  const code = (o: ApplyOutcome | null): string => (o !== null && !o.ok ? o.error.code : 'accepted');

  it('a token spent after its expiry is refused (ERR_AUTH_TOKEN_EXPIRED)', async () => {
    expect(code(await apply(spent('t'.repeat(16), T0 + 1000, T0 + 1000)))).to.equal('ERR_AUTH_TOKEN_EXPIRED');
  });

  it('a removed provisioner spends nothing more (ERR_NOT_FOUND)', async () => {
    await applyAll(store, [{ type: 'ProvisionerRemoved', name: 'ci', requestedBy: 'admin', at: T0 + 1 }]);
    expect(code(await apply(spent('t'.repeat(16), T0 + 600_000, T0 + 2)))).to.equal('ERR_NOT_FOUND');
    expect(await store.provisioners()).to.deep.equal([]);
  });

  it('spends that can no longer verify are forgotten by later spends, a bounded number each', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `old-token-${String(i).padStart(6, '0')}`);
    await applyAll(store, ids.map((id, i) => spent(id, T0 + 1000 + i, T0 + 1 + i)));
    expect((await store.provisionerTokenSpend('ci', ids[9]!)) !== undefined).to.equal(true);
    // At T0 + 1005 the first five have expired (expiresAt < at); the sixth expires exactly then.
    expect(code(await apply(spent('new-token-000000', T0 + 600_000, T0 + 1005)))).to.equal('accepted');
    const used = await Promise.all(ids.map((id) => store.provisionerTokenSpend('ci', id).then((spend) => spend !== undefined)));
    expect(used).to.deep.equal([false, false, false, false, false, true, true, true, true, true]);
    // Long after: the remaining five and more go, at most eight per spend.
    expect(code(await apply(spent('new-token-000001', T0 + 9_600_000, T0 + 9_000_000)))).to.equal('accepted');
    expect((await store.provisionerTokenSpend('ci', ids[9]!)) !== undefined).to.equal(false);
    expect((await store.provisionerTokenSpend('ci', 'new-token-000000')) !== undefined).to.equal(false);
    expect((await store.provisionerTokenSpend('ci', 'new-token-000001')) !== undefined).to.equal(true);
  });
});
