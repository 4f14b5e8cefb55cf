// A seeded generator of realistic committed logs for the replay, snapshot and crash tests:
// mostly valid events built from what earlier events created, with deliberate rejects (reused
// serials, double revocations, stale CRL numbers, overlapping subnets, reused join tokens) and
// some undecodable entries, so every code path of applyEvent runs in a replicated order.
import { encodeEvent, type CommittedEntry, type PkiEvent } from '../src/state/index.ts';
import { azCaInstalled, clusterCreated, DAY_MS, fakeDer, issued, nodeCaInstalled, nodeRegistered, pkh, T0 } from './state-fixtures.ts';

/** mulberry32: tiny, seedable, good enough to pick test events. */
export class TestRandom {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  int(maxExclusive: number): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % maxExclusive) >>> 0;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

interface Model {
  t: number;
  azs: string[];
  azCas: Map<string, string>;
  nodes: { nodeId: string; ica: string; az: string }[];
  leaves: { issuerId: string; serialHex: string }[];
  tokens: string[];
  crlNumber: number;
  n: number;
}

function hex2(r: TestRandom, octets: number): string {
  let s = (1 + r.int(255)).toString(16).padStart(2, '0');
  for (let i = 1; i < octets; i++) s += r.int(256).toString(16).padStart(2, '0');
  return s;
}

function topology(r: TestRandom, m: Model): PkiEvent {
  const k = r.int(5);
  if (k === 0 || m.azs.length === 0) {
    const octet = 1 + r.int(6); // collisions give overlapping subnets and duplicate names
    m.azs.push(`az${octet}`);
    return { type: 'AzAdded', az: { name: `az${octet}`, subnets: [`127.${octet}.0.0/16`], localVip: `127.${octet}.0.1` }, at: m.t };
  }
  const az = r.pick(m.azs);
  if (k === 1 || !m.azCas.has(az)) {
    const id = `${az}-ica`;
    m.azCas.set(az, id);
    return { ...azCaInstalled(id, az, hex2(r, 2)), notAfter: m.t + 1000 * DAY_MS, at: m.t };
  }
  if (k === 4 && r.int(3) === 0) {
    // Every sealed key (accepted), or one more that is never sealed: a node CA's (rejected).
    const ids = ['root-1', ...m.azCas.values(), ...(r.int(3) === 0 ? ['node-1-ica'] : [])];
    return { type: 'CaKeyRewrapped', keys: ids.map((issuerId) => ({ kind: 'ca' as const, issuerId, wrappedKey: fakeDer(`kek-${m.n}:${issuerId}`) })), at: m.t };
  }
  const nodeId = `node-${r.int(12)}`;
  const ica = `${nodeId}-ica`;
  if (k === 2) return { ...nodeCaInstalled(ica, nodeId, hex2(r, 2), az, m.azCas.get(az)), notAfter: m.t + 100 * DAY_MS, at: m.t };
  if (k === 3) {
    m.nodes.push({ nodeId, ica, az });
    return { ...nodeRegistered(nodeId, ica, az), at: m.t };
  }
  return { type: 'NodeRemoved', nodeId, reason: 'test', at: m.t };
}

function leafWork(r: TestRandom, m: Model): PkiEvent {
  const k = r.int(10);
  if (k < 6 || m.leaves.length === 0) {
    const reuse = m.leaves.length > 0 && r.int(12) === 0 ? r.pick(m.leaves.slice(-4)) : undefined;
    const issuerId = reuse?.issuerId ?? (m.nodes.length > 0 && r.int(10) > 0 ? r.pick(m.nodes).ica : 'ghost-ica');
    const serialHex = reuse?.serialHex ?? hex2(r, 1 + r.int(2)); // sometimes a serial already used
    const requester = `svc-${r.int(6)}`;
    m.leaves.push({ issuerId, serialHex });
    return issued(serialHex, {
      issuerId,
      requester,
      publicKeyHash: pkh(`${requester}-${r.int(3)}`),
      sans: [`dns:${requester}.example`],
      at: m.t,
      notAfter: m.t + (1 + r.int(20)) * DAY_MS,
    });
  }
  if (k < 8) {
    const leaf = r.pick(m.leaves.slice(-8)); // recent leaves: some revoked twice
    return { type: 'Revoked', ...leaf, reason: r.pick(['keyCompromise', 'superseded', 'unspecified'] as const), revokedAt: m.t, requestedBy: 'admin', notAfter: m.t + r.int(10) * DAY_MS };
  }
  if (k === 8) {
    m.crlNumber += r.int(3); // sometimes unchanged: a stale CRL number is rejected
    const issuerId = m.nodes.length > 0 ? r.pick(m.nodes).ica : 'ghost-ica';
    return { type: 'CrlPublished', issuerId, crlNumber: m.crlNumber, crlDer: fakeDer(`crl-${m.n}`), thisUpdate: m.t, nextUpdate: m.t + DAY_MS };
  }
  return { type: 'ExpiredPruned', before: m.t - r.int(5) * DAY_MS, limit: 1 + r.int(4) };
}

function adminWork(r: TestRandom, m: Model): PkiEvent {
  const k = r.int(5);
  if (k === 0) return { type: 'ProfileSet', name: `p${r.int(3)}`, profile: { lifetimeMs: r.int(100) * DAY_MS, tags: ['a', r.int(5)] } };
  if (k === 1) return { type: 'ProfileRemoved', name: `p${r.int(3)}` };
  if (k === 2) return { type: 'ClusterSettingsSet', settings: { idempotencyWindowMs: r.int(4) * 3600_000 }, at: m.t };
  const az = m.azs.length > 0 ? r.pick(m.azs) : 'az1';
  if (k === 3 || m.tokens.length === 0) {
    const tokenId = `tok-${r.int(20)}`;
    m.tokens.push(tokenId);
    return { type: 'JoinTokenIssued', tokenId, az, expiresAt: m.t + r.int(3) * DAY_MS + 1, at: m.t };
  }
  return { type: 'JoinTokenUsed', tokenId: r.pick(m.tokens), az, nodeId: `node-${r.int(12)}`, expiresAt: m.t + r.int(2) * DAY_MS, at: m.t };
}

/** `count` committed entries (index 1…count), reproducible from `seed`. */
export function generateLog(seed: number, count: number): CommittedEntry[] {
  const r = new TestRandom(seed);
  const m: Model = { t: T0, azs: [], azCas: new Map(), nodes: [], leaves: [], tokens: [], crlNumber: 0, n: 0 };
  // A fixed root DER: the crash test regenerates the log in two processes and compares bytes.
  const entries: CommittedEntry[] = [{ index: 1, term: 1, data: encodeEvent(clusterCreated({ rootCertDer: fakeDer('root') })) }];
  let term = 1;
  for (let index = 2; index <= count; index++) {
    m.n = index;
    m.t += r.int(6 * 3600_000);
    if (r.int(50) === 0) term++;
    const k = r.int(20);
    let data: Uint8Array;
    if (k === 0) data = Uint8Array.from({ length: 1 + r.int(40) }, () => r.int(256)); // undecodable entry
    else data = encodeEvent(k < 5 ? topology(r, m) : k < 8 ? adminWork(r, m) : leafWork(r, m));
    entries.push({ index, term, data });
  }
  return entries;
}
