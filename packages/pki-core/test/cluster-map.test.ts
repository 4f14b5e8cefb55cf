import { expect } from 'chai';
import fc from 'fast-check';
import { isPkiError } from '../src/errors.ts';
import {
  findNode,
  newClusterMap,
  withAz,
  withCaCertificate,
  withLeaders,
  withNode,
  withNodeAddresses,
  withNodeHealth,
  withNodeRevoked,
  withoutAz,
  withoutCaCertificate,
  withoutNode,
  withRoles,
  type ClusterMap,
} from '../src/cluster/cluster-map.ts';
import { clusterMapFromJson } from '../src/cluster/cluster-map-codec.ts';
import {
  GENERATION_HASH_BITS,
  clusterMapEtag,
  diffSince,
  generationOf,
  mapContentSha256,
  parseClusterMapSince,
  servedMap,
} from '../src/cluster/map-generation.ts';
import { MAP_VERSION_MAX } from '../src/state/map-version.ts';
import { healthOf, newHealthRecord, recordProbe, type HealthPolicy } from '../src/cluster/node-health.ts';
import { expectPkiCode } from './expect-code.ts';

const CLUSTER = '7d3c2f4e-0b1a-4c55-9a51-3f0e2b8d6c11';
const addr = (host: string) => ({ api: `${host}:8443`, raft: `${host}:7000` });

function twoAzMap(): ClusterMap {
  let m = newClusterMap(CLUSTER, '10.0.0.1');
  m = withAz(m, { name: 'az-a', subnets: ['10.1.1.0/24'], localVip: '10.1.1.10' });
  m = withAz(m, { name: 'az-b', subnets: ['10.2.1.0/24'], localVip: '10.2.1.10' });
  m = withNode(m, { nodeId: 'a1', az: 'az-a', addresses: addr('10.1.1.11') });
  m = withNode(m, { nodeId: 'a2', az: 'az-a', addresses: addr('10.1.1.12') });
  m = withNode(m, { nodeId: 'b1', az: 'az-b', addresses: addr('10.2.1.11') });
  return m;
}

describe('cluster map builder (cluster-map.ts)', () => {
  it('every change bumps the generation by one; a no-op returns the same map', () => {
    const m0 = newClusterMap(CLUSTER, '10.0.0.1');
    expect(m0.generation).to.equal(1);
    const m1 = withAz(m0, { name: 'az-a', subnets: ['10.1.1.0/24'], localVip: '10.1.1.10' });
    expect(m1.generation).to.equal(2);
    expect(withAz(m1, { name: 'az-a', subnets: ['10.1.1.0/24'], localVip: '10.1.1.10' })).to.equal(m1);
    const m2 = withNode(m1, { nodeId: 'a1', az: 'az-a', addresses: addr('10.1.1.11') });
    expect(m2.generation).to.equal(3);
    expect(withNode(m2, { nodeId: 'a1', az: 'az-a', addresses: addr('10.1.1.11') })).to.equal(m2);
    expect(withNodeHealth(m2, 'a1', 'healthy')).to.equal(m2);
    const m3 = withNodeHealth(m2, 'a1', 'suspect');
    expect(m3.generation).to.equal(4);
    expect(findNode(m3, 'a1')?.health).to.equal('suspect');
    expect(withRoles(m3, 'a1', 'learner')).to.equal(m3);
    expect(withRoles(m3, 'a1', 'voter').generation).to.equal(5);
  });

  it('roles follow membership and leaders; the global leader must be its AZ local leader', () => {
    let m = withRoles(twoAzMap(), 'b1', 'voter');
    m = withLeaders(m, { globalLeader: 'b1', localLeaders: { 'az-a': 'a1', 'az-b': 'b1' } });
    expect(findNode(m, 'b1')?.roles).to.deep.equal(['globalLeader', 'localLeader', 'voter']);
    expect(findNode(m, 'a1')?.roles).to.deep.equal(['localLeader', 'learner']);
    expect(findNode(m, 'a2')?.roles).to.deep.equal(['learner']);
    expectPkiCode(() => withLeaders(m, { globalLeader: 'a2', localLeaders: { 'az-a': 'a1' } }), 'ERR_INPUT_INVALID');
    expectPkiCode(() => withLeaders(m, { globalLeader: null, localLeaders: { 'az-b': 'a1' } }), 'ERR_WRONG_AZ');
    expectPkiCode(() => withLeaders(m, { globalLeader: null, localLeaders: { 'az-z': 'a1' } }), 'ERR_AZ_UNKNOWN');
    expectPkiCode(() => withLeaders(m, { globalLeader: 'zz', localLeaders: {} }), 'ERR_NODE_UNKNOWN');
  });

  it('revocation is final: the node stays listed, loses its leader roles, and cannot be changed back', () => {
    let m = withLeaders(twoAzMap(), { globalLeader: 'a1', localLeaders: { 'az-a': 'a1', 'az-b': 'b1' } });
    m = withNodeRevoked(m, 'a1');
    expect(findNode(m, 'a1')?.status).to.equal('revoked');
    expect(m.leaders).to.deep.equal({ globalLeader: null, localLeaders: { 'az-b': 'b1' } });
    expect(withNodeRevoked(m, 'a1')).to.equal(m);
    expectPkiCode(() => withRoles(m, 'a1', 'voter'), 'ERR_NODE_REVOKED');
    expectPkiCode(() => withNodeAddresses(m, 'a1', addr('10.1.1.99')), 'ERR_NODE_REVOKED');
    expectPkiCode(() => withLeaders(m, { globalLeader: null, localLeaders: { 'az-a': 'a1' } }), 'ERR_NODE_REVOKED');
    expectPkiCode(() => withNode(m, { nodeId: 'a1', az: 'az-a', addresses: addr('10.1.1.11') }), 'ERR_NODE_REVOKED');
  });

  it('nodes belong to one known AZ; AZs with nodes cannot be removed', () => {
    const m = twoAzMap();
    expectPkiCode(() => withNode(m, { nodeId: 'x', az: 'az-z', addresses: addr('10.9.9.9') }), 'ERR_AZ_UNKNOWN');
    expectPkiCode(() => withNode(m, { nodeId: 'a1', az: 'az-b', addresses: addr('10.1.1.11') }), 'ERR_WRONG_AZ');
    expectPkiCode(() => withoutAz(m, 'az-b'), 'ERR_EVENT_REJECTED');
    const gone = withoutAz(withoutNode(m, 'b1'), 'az-b');
    expect(gone.azs.map((a) => a.name)).to.deep.equal(['az-a']);
    expect(withoutNode(gone, 'b1')).to.equal(gone);
  });

  it('holds CA certificates by SHA-256 fingerprint; AZ ICAs go with their AZ', () => {
    let m = twoAzMap();
    const root = { kind: 'root' as const, az: null, fingerprintSha256: 'a'.repeat(64), pem: 'ROOT' };
    const icaB = { kind: 'azIca' as const, az: 'az-b', fingerprintSha256: 'b'.repeat(64), pem: 'ICA-B' };
    m = withCaCertificate(withCaCertificate(m, icaB), root);
    expect(m.caCertificates.map((c) => c.pem)).to.deep.equal(['ROOT', 'ICA-B']);
    expect(withCaCertificate(m, root)).to.equal(m);
    expectPkiCode(() => withCaCertificate(m, { ...root, fingerprintSha256: 'XYZ' }), 'ERR_INPUT_INVALID');
    expectPkiCode(() => withCaCertificate(m, { ...root, az: 'az-a' }), 'ERR_INPUT_INVALID');
    m = withoutAz(withoutNode(m, 'b1'), 'az-b');
    expect(m.caCertificates.map((c) => c.pem)).to.deep.equal(['ROOT']);
    expect(withoutCaCertificate(m, root.fingerprintSha256).caCertificates).to.deep.equal([]);
  });

  it('equal content gives equal maps whatever the order of updates (property)', () => {
    const ops = ['a1', 'a2', 'b1'].flatMap((id) => [
      (m: ClusterMap) => withRoles(m, id, 'voter'),
      (m: ClusterMap) => withNodeHealth(m, id, 'down'),
    ]);
    fc.assert(
      fc.property(fc.shuffledSubarray(ops.map((_, i) => i), { minLength: ops.length }), (order) => {
        const a = order.reduce((m, i) => ops[i]!(m), twoAzMap());
        const b = ops.reduce((m, op) => op(m), twoAzMap());
        expect(JSON.stringify(a)).to.equal(JSON.stringify(b));
        expect(a.generation).to.equal(twoAzMap().generation + ops.length);
      }),
      { numRuns: 50 },
    );
  });

  it('the generation never decreases and changes exactly when the content does (property)', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('health' as const), id: fc.constantFrom('a1', 'a2', 'b1'), h: fc.constantFrom('healthy' as const, 'suspect' as const, 'down' as const) }),
      fc.record({ k: fc.constant('role' as const), id: fc.constantFrom('a1', 'a2', 'b1'), r: fc.constantFrom('voter' as const, 'learner' as const) }),
      fc.record({ k: fc.constant('lead' as const), a: fc.constantFrom('a1', 'a2'), g: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (list) => {
        let m = twoAzMap();
        for (const o of list) {
          const next =
            o.k === 'health'
              ? withNodeHealth(m, o.id, o.h)
              : o.k === 'role'
                ? withRoles(m, o.id, o.r)
                : withLeaders(m, { globalLeader: o.g ? o.a : null, localLeaders: { 'az-a': o.a } });
          const { generation: g1, ...c1 } = m;
          const { generation: g2, ...c2 } = next;
          const changed = JSON.stringify(c1) !== JSON.stringify(c2);
          expect(g2).to.equal(changed ? g1 + 1 : g1);
          m = next;
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('docs/spec.md §7.2.1 served generation: replicated version and content hash (map-generation.ts)', () => {
  const SPAN = 2 ** GENERATION_HASH_BITS;

  it('the generation is (version + 1) · 2^21 plus 21 bits of the content hash; the ETag names generation and hash', () => {
    const m = twoAzMap();
    const served = servedMap(m, 7);
    const sha = mapContentSha256(m);
    expect(Math.floor(served.map.generation / SPAN)).to.equal(8);
    expect(served.map.generation % SPAN).to.equal(Number.parseInt(sha.slice(0, 6), 16) >>> 3);
    expect(served.etag).to.equal(`${served.map.generation}.${sha}`);
    expect(clusterMapEtag(served.map), 'a client computes the ETag from the map it holds').to.equal(served.etag);
    expect(servedMap(newClusterMap(CLUSTER, '10.0.0.1'), 0).map.generation, 'before the cluster exists').to.be.at.least(SPAN);
    expect(generationOf(MAP_VERSION_MAX, 'f'.repeat(64))).to.equal(Number.MAX_SAFE_INTEGER);
    expect(() => generationOf(MAP_VERSION_MAX + 1, sha)).to.throw(TypeError);
    expect(() => generationOf(1, 'F'.repeat(64))).to.throw(TypeError);
  });

  it('equal content gives equal generation and ETag whatever the builder generation or key order; other content another ETag', () => {
    const m = twoAzMap();
    const reordered = JSON.parse(JSON.stringify({ ...m, leaders: { localLeaders: {}, globalLeader: null }, generation: 99 })) as ClusterMap;
    expect(servedMap(reordered, 3)).to.deep.equal(servedMap(m, 3));
    const other = withNodeHealth(m, 'a1', 'down');
    expect(servedMap(other, 3).etag).to.not.equal(servedMap(m, 3).etag);
    expect(Math.floor(servedMap(other, 3).map.generation / SPAN), 'a view change keeps the replicated part').to.equal(4);
    expect(Math.floor(servedMap(m, 4).map.generation / SPAN), 'a newer version has a larger generation').to.equal(5);
  });

  it('"no change" only for the same generation or exactly the same ETag; since=0 always gets the map', () => {
    const served = servedMap(twoAzMap(), 2);
    const other = servedMap(withNodeHealth(twoAzMap(), 'b1', 'suspect'), 2);
    expect(diffSince(served, served.map.generation)).to.deep.equal({ unchanged: true, generation: served.map.generation, etag: served.etag });
    expect(diffSince(served, served.etag).unchanged).to.equal(true);
    expect(diffSince(served, 0)).to.deep.equal({ unchanged: false, map: served.map, etag: served.etag });
    expect(diffSince(served, other.etag).unchanged).to.equal(false);
    // Same replicated version and, by construction here, the same low bits: the ETag still tells them apart.
    const collided = { ...other, map: { ...other.map, generation: served.map.generation } };
    expect(diffSince(collided, served.etag).unchanged).to.equal(false);
    expect(diffSince(servedMap(twoAzMap(), 3), served.map.generation).unchanged, 'a newer replicated version').to.equal(false);
  });

  it('since is a generation number or an ETag, quoted or not; anything else is ERR_INPUT_INVALID naming since', () => {
    const served = servedMap(twoAzMap(), 2);
    expect(parseClusterMapSince('0')).to.equal(0);
    expect(parseClusterMapSince(String(served.map.generation))).to.equal(served.map.generation);
    expect(parseClusterMapSince(served.etag)).to.equal(served.etag);
    expect(parseClusterMapSince(`"${served.etag}"`)).to.equal(served.etag);
    for (const bad of ['', 'x', '-1', '1.5', '99999999999999999', `${served.etag}0`, `"${served.etag}`, served.etag.toUpperCase(), 'W/"1.ab"']) {
      try {
        parseClusterMapSince(bad);
      } catch (e) {
        expect(isPkiError(e, 'ERR_INPUT_INVALID'), bad).to.equal(true);
        expect((e as { field?: string }).field).to.equal('since');
        continue;
      }
      expect.fail(`accepted since=${bad}`);
    }
  });
});

describe('docs/spec.md §7.2.3 reading a received cluster map', () => {
  const full = (): ClusterMap => {
    let m = withRoles(twoAzMap(), 'b1', 'voter');
    m = withLeaders(m, { globalLeader: 'b1', localLeaders: { 'az-a': 'a1', 'az-b': 'b1' } });
    m = withCaCertificate(m, { kind: 'root', az: null, fingerprintSha256: 'c'.repeat(64), pem: 'ROOT' });
    return withNodeRevoked(m, 'a2');
  };

  it('round-trips through JSON exactly', () => {
    const m = full();
    expect(clusterMapFromJson(JSON.parse(JSON.stringify(m)))).to.deep.equal(m);
  });

  it('refuses bad fields and broken invariants, naming the field', () => {
    /* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
       each case writes a deliberately ill-typed field into a JSON copy of the map. */
    const bad = (mutate: (j: Record<string, any>) => void, field: string): void => {
      const j = JSON.parse(JSON.stringify(full())) as Record<string, any>;
      mutate(j);
      try {
        clusterMapFromJson(j);
      } catch (e) {
        expect(isPkiError(e, 'ERR_INPUT_INVALID'), String(e)).to.equal(true);
        expect((e as { field?: string }).field).to.equal(field);
        return;
      }
      expect.fail(`accepted a map with a bad ${field}`);
    };
    bad((j) => (j['generation'] = 0), 'generation');
    bad((j) => (j['nodes'][1]['health'] = 'great'), 'nodes[1].health');
    bad((j) => (j['nodes'][0]['az'] = 'az-z'), 'nodes[0].az');
    bad((j) => (j['nodes'][0]['roles'] = ['voter']), 'nodes[0].roles');
    bad((j) => (j['leaders']['localLeaders']['az-a'] = 'a2'), 'leaders.localLeaders.az-a'); // a2 is revoked
    bad((j) => (j['leaders']['globalLeader'] = 'zz'), 'leaders.globalLeader');
    bad((j) => (j['caCertificates'][0]['fingerprintSha256'] = 'C'.repeat(64)), 'caCertificates[0].fingerprintSha256');
    bad((j) => j['nodes'].push(j['nodes'][0]), 'nodes');
    bad((j) => delete j['clusterId'], 'clusterId');
    /* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return */
  });
});

describe('node health model (last seen, consecutive failures)', () => {
  const policy: HealthPolicy = { suspectAfterFailures: 2, downAfterFailures: 4, downAfterSilenceMs: 10_000 };

  it('healthy → suspect → down on consecutive failures; one success resets', () => {
    let r = recordProbe(newHealthRecord(0), { ok: true, nowMs: 100 });
    expect(healthOf(r, 100, policy)).to.equal('healthy');
    r = recordProbe(r, { ok: false, nowMs: 200 });
    expect(healthOf(r, 200, policy)).to.equal('healthy');
    r = recordProbe(r, { ok: false, nowMs: 300 });
    expect(healthOf(r, 300, policy)).to.equal('suspect');
    r = recordProbe(recordProbe(r, { ok: false, nowMs: 400 }), { ok: false, nowMs: 500 });
    expect(healthOf(r, 500, policy)).to.equal('down');
    r = recordProbe(r, { ok: true, nowMs: 600 });
    expect(r).to.deep.equal({ trackedSinceMs: 0, lastSeenMs: 600, consecutiveFailures: 0 });
    expect(healthOf(r, 600, policy)).to.equal('healthy');
  });

  it('silence alone makes a node down, counted from tracking start until first contact', () => {
    const fresh = newHealthRecord(1_000);
    expect(healthOf(fresh, 10_999, policy)).to.equal('healthy');
    expect(healthOf(fresh, 11_000, policy)).to.equal('down');
    const seen = recordProbe(fresh, { ok: true, nowMs: 5_000 });
    expect(healthOf(seen, 14_999, policy)).to.equal('healthy');
    expect(healthOf(seen, 15_000, policy)).to.equal('down');
  });

  it('refuses an inconsistent policy as API misuse', () => {
    expect(() => healthOf(newHealthRecord(0), 0, { ...policy, downAfterFailures: 1 })).to.throw(TypeError);
  });
});
