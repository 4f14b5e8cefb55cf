// The names a cluster's built-in profiles issue for (src/ca/allowed-names.ts, docs/architecture.md
// §16.2): every name a SAN states is judged, refusals are ERR_NAME_NOT_ALLOWED naming the SAN and
// the policy; the rules travel in ClusterCreated's settings and are kept in the state.
import { expect } from 'chai';
import { checkAllowedNames, validateAllowedNames } from '../src/ca/allowed-names.ts';
import { parseSanText } from '../src/ca/san.ts';
import { isPkiError } from '../src/errors.ts';
import { decodeEvent, encodeEvent, type PkiStateStore } from '../src/state/index.ts';
import { applyAll, clusterCreated, openStore, removeTempDirs } from './state-fixtures.ts';

const ALLOWED = validateAllowedNames({ dnsDomains: ['.test', '.example', 'localhost'], ipCidrs: ['127.0.0.0/8', '::1/128', '10.1.0.0/16'] }, 'allowedNames');
const sans = (...texts: string[]) => texts.map((t, i) => parseSanText(t, `sans[${i}]`));

function refusal(...texts: string[]): [string, string | undefined, string] | null {
  try {
    checkAllowedNames(sans(...texts), ALLOWED);
  } catch (e) {
    if (isPkiError(e)) return [e.code, e.field, e.message];
    throw e;
  }
  return null;
}

describe('allowed names of a cluster (allowed-names.ts)', () => {
  it('admits DNS names under the rules, addresses in the ranges, and the hosts of emails and URIs', () => {
    expect(refusal('dns:svc.example', 'dns:a.b.test', 'dns:localhost', 'ip:127.0.0.1', 'ip:::1', 'ip:10.1.2.3', 'email:ops@mail.example', 'uri:spiffe://prod.example/web', 'uri:https://api.test/x', 'uri:https://[::1]/x')).to.equal(null);
  });

  it('refuses a name outside, naming the SAN, the name and the rules it missed', () => {
    expect(refusal('dns:svc.example', 'dns:www.google.com')).to.deep.equal([
      'ERR_NAME_NOT_ALLOWED',
      'sans[1]',
      'sans[1]: "www.google.com" is outside the names this cluster issues for under its built-in profiles (allowedDomains: .test, .example, localhost)',
    ]);
    // `example` itself and `localhost.example.com` are not covered: `.example` is strictly below, `localhost` exact.
    expect(refusal('dns:example')?.[0]).to.equal('ERR_NAME_NOT_ALLOWED');
    expect(refusal('dns:localhost.example.com')?.[0]).to.equal('ERR_NAME_NOT_ALLOWED');
    expect(refusal('ip:8.8.8.8')?.[2]).to.match(/"8\.8\.8\.8" is outside .*\(allowedIpCidrs: 127\.0\.0\.0\/8, ::1\/128, 10\.1\.0\.0\/16\)$/);
    expect(refusal('email:a@gmail.com')?.[2]).to.match(/^sans\[0\]: "gmail\.com" \(of email SAN "a@gmail\.com"\) is outside/);
    expect(refusal('uri:spiffe://prod.corp/web')?.[2]).to.match(/"prod\.corp" \(of uri SAN "spiffe:\/\/prod\.corp\/web"\)/);
    expect(refusal('uri:https://[2001:db8::1]/x')?.[2]).to.match(/"2001:db8::1" .*allowedIpCidrs/);
  });

  it('no rules: nothing is admitted', () => {
    expect(() => checkAllowedNames(sans('dns:a.test'), { dnsDomains: [], ipCidrs: [] })).to.throw('(allowedDomains: none)');
  });

  it('bad rules are ERR_INPUT_INVALID naming the field', () => {
    const field = (data: unknown): string | undefined => {
      try {
        validateAllowedNames(data, 'allowedNames');
      } catch (e) {
        if (isPkiError(e, 'ERR_INPUT_INVALID')) return e.field;
        throw e;
      }
      return undefined;
    };
    expect(field({ dnsDomains: ['Upper.Example'], ipCidrs: [] })).to.equal('allowedNames.dnsDomains[0]');
    expect(field({ dnsDomains: [], ipCidrs: ['10.0.0.1/8'] })).to.equal('allowedNames.ipCidrs[0]');
    expect(field({ dnsDomains: [] })).to.equal('allowedNames.ipCidrs');
    expect(field({ dnsDomains: [], ipCidrs: [], more: [] })).to.equal('allowedNames.more');
  });
});

describe('allowed names in the state: ClusterCreated settings', () => {
  let store: PkiStateStore;
  afterEach(() => store?.close());
  after(removeTempDirs);

  it('round-trip through the codec; a ClusterCreated without them encodes as before', () => {
    const ev = clusterCreated({ settings: { idempotencyWindowMs: 600_000, allowedNames: { dnsDomains: ['.test'], ipCidrs: ['127.0.0.0/8'] } } });
    expect(decodeEvent(encodeEvent(ev))).to.deep.equal(ev);
    const plain = clusterCreated();
    expect(decodeEvent(encodeEvent(plain))).to.deep.equal(plain);
    expect(Buffer.from(encodeEvent(plain)).includes(Buffer.from('allowedNames'))).to.equal(false);
  });

  it('the codec refuses rules that init could not have set', () => {
    const bad = clusterCreated({ settings: { idempotencyWindowMs: 600_000, allowedNames: { dnsDomains: ['*.test'], ipCidrs: [] } } });
    expect(() => encodeEvent(bad)).to.throw(/allowedNames\.dnsDomains\[0\]/);
  });

  it('the state keeps them as the cluster was founded; without them, none', async () => {
    store = await openStore();
    const allowedNames = { dnsDomains: ['.example'], ipCidrs: ['10.0.0.0/8'] };
    await applyAll(store, [clusterCreated({ settings: { idempotencyWindowMs: 600_000, allowedNames } })]);
    expect((await store.settings()).allowedNames).to.deep.equal(allowedNames);
    await store.close();
    store = await openStore();
    await applyAll(store, [clusterCreated()]);
    expect(await store.settings()).to.not.have.property('allowedNames');
  });
});
