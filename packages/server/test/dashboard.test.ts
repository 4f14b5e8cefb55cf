// The dashboard's parts without a cluster: failure tolerance (Raft §5.2 majorities), the issuance
// figures taken from /metrics' histogram, the cluster view built from node reports, the collector's
// rounds, and the routes over a real HTTP listener (the event stream's format, the page's policy,
// the admin part refused over plain HTTP). Listeners bind 127.129.0.1 (this suite's loopback range).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import type { ClusterMap, OperatorReport, PkiNodeStatus } from '@adrestia/pki-core';
import { DashboardCollector, type Watcher } from '../src/dashboard/collector.ts';
import { clusterView, type ClusterView, type Gathered } from '../src/dashboard/cluster-view.ts';
import { figuresSince, issuanceFigures, quantileSeconds, type IssuanceFigures } from '../src/dashboard/issuance-figures.ts';
import type { NodeReport } from '../src/dashboard/node-report.ts';
import { nodeReportFromJson } from '../src/dashboard/node-report.ts';
import { addDashboardRoutes } from '../src/dashboard/routes.ts';
import { toleranceOf, toleranceText } from '../src/dashboard/tolerance.ts';
import { Router } from '../src/http/router.ts';
import { HttpServer } from '../src/http/server.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { setOperatorGauges } from '../src/serve/node-metrics.ts';
import { waitFor } from './helpers/wait.ts';

const HOST = '127.129.0.1';
const NOW = 1_800_000_000_000;

function status(nodeId: string, az: string, local: Partial<PkiNodeStatus['local']>, more: Partial<PkiNodeStatus> = {}): PkiNodeStatus {
  return {
    nodeId,
    az,
    clusterId: 'c1',
    pkiLocalLeader: local.role === 'leader',
    pkiGlobalLeader: false,
    local: { role: 'follower', term: 1, leaderId: null, commitIndex: 10, appliedIndex: 10, ...local },
    global: { role: 'inactive', term: 0, leaderId: null, commitIndex: 0, appliedIndex: 0 },
    ready: true,
    ...more,
  };
}

function operator(over: Partial<OperatorReport> = {}): OperatorReport {
  return {
    local: { voters: [], learners: [], lastIndex: 10, applyLagEntries: 0, members: null },
    global: { voters: [], learners: [], lastIndex: 0, applyLagEntries: 0, members: null },
    vips: [],
    cas: [],
    crls: [],
    ocspSigners: [],
    revocationsByIssuer: {},
    ...over,
  };
}

const NO_ISSUANCE: IssuanceFigures = { requests: 0, errors: 0, buckets: [] };

function report(s: PkiNodeStatus, op: OperatorReport = operator()): NodeReport {
  return { atMs: NOW, status: s, operator: op, issuance: NO_ISSUANCE, roleChanges: [] };
}

function mapOf(nodes: [string, string, string][]): ClusterMap {
  const azs = [...new Set(nodes.map(([, az]) => az))];
  return {
    clusterId: 'c1',
    generation: 3,
    globalVip: '127.129.10.1',
    azs: azs.map((name, i) => ({ name, subnets: [`127.${130 + i}.0.0/16`], localVip: `127.129.${i + 1}.1` })),
    nodes: nodes.map(([nodeId, az, host]) => ({ nodeId, az, addresses: { api: `${host}:8443`, raft: `${host}:7480` }, membership: 'voter', roles: ['voter'], health: 'healthy', status: 'active' })),
    leaders: { globalLeader: null, localLeaders: {} },
    caCertificates: [],
  };
}

describe('dashboard: Raft §5.2 failure tolerance (a majority of the voters commits)', () => {
  it('three voters all reachable can lose one; two reachable can lose none; one has no quorum', () => {
    const voters = ['a', 'b', 'c'];
    expect(toleranceOf(voters, () => true)).to.deep.equal({ voters: 3, reachable: 3, quorum: 2, canLose: 1 });
    expect(toleranceOf(voters, (id) => id !== 'c').canLose).to.equal(0);
    const one = toleranceOf(voters, (id) => id === 'a');
    expect(one.canLose).to.equal(-1);
    expect(toleranceText('az2', toleranceOf(voters, () => true), 'node')).to.equal('az2 can lose 1 node');
    expect(toleranceText('az2', one, 'node')).to.equal('az2 has no quorum (needs 1 more node)');
    expect(toleranceText('the global tier', toleranceOf(['az1', 'az2', 'az3', 'az4', 'az5'], () => true), 'AZ')).to.equal('the global tier can lose 2 AZs');
  });

  it('four voters need three: losing one of four leaves no margin', () => {
    expect(toleranceOf(['a', 'b', 'c', 'd'], (id) => id !== 'd').canLose).to.equal(0);
  });
});

describe('dashboard: issuance figures from the adrestia_issuance histogram', () => {
  it('sums profiles and results, counts errors, and drops the +Inf bucket (JSON has no Infinity)', async () => {
    const metrics = createMetrics();
    metrics.issuanceTotal.inc({ profile: 'serverLeaf', result: 'issued' }, 3);
    metrics.issuanceTotal.inc({ profile: 'clientLeaf', result: 'error' }, 1);
    for (const s of [0.004, 0.004, 0.02]) metrics.issuanceSeconds.observe({ profile: 'serverLeaf', result: 'issued' }, s);
    metrics.issuanceSeconds.observe({ profile: 'clientLeaf', result: 'error' }, 3);
    const f = await issuanceFigures(metrics);
    expect(f.requests).to.equal(4);
    expect(f.errors).to.equal(1);
    expect(f.buckets.every((b) => Number.isFinite(b.le))).to.equal(true);
    expect(f.buckets.find((b) => b.le === 0.005)?.count).to.equal(2);
    expect(f.buckets.find((b) => b.le === 0.025)?.count).to.equal(3);
    expect(JSON.parse(JSON.stringify(f))).to.deep.equal(f);
  });

  it('interpolates quantiles inside a bucket as histogram_quantile does, and has none without requests', () => {
    const f: IssuanceFigures = { requests: 4, errors: 0, buckets: [{ le: 0.01, count: 2 }, { le: 0.02, count: 4 }] };
    expect(quantileSeconds(f, 0.5)).to.be.closeTo(0.01, 1e-12);
    expect(quantileSeconds(f, 0.75)).to.be.closeTo(0.015, 1e-12);
    expect(quantileSeconds({ requests: 5, errors: 0, buckets: f.buckets }, 1)).to.equal(0.02);
    expect(quantileSeconds(NO_ISSUANCE, 0.5)).to.equal(null);
  });

  it('the difference of two samples, and a restarted node (counters went down) counts from zero', () => {
    const before: IssuanceFigures = { requests: 10, errors: 1, buckets: [{ le: 0.01, count: 8 }] };
    const now: IssuanceFigures = { requests: 15, errors: 3, buckets: [{ le: 0.01, count: 9 }] };
    expect(figuresSince(now, before)).to.deep.equal({ requests: 5, errors: 2, buckets: [{ le: 0.01, count: 1 }] });
    const restarted: IssuanceFigures = { requests: 2, errors: 0, buckets: [{ le: 0.01, count: 2 }] };
    expect(figuresSince(restarted, before)).to.deep.equal(restarted);
  });
});

describe('dashboard: the cluster view from the node reports', () => {
  const map = mapOf([
    ['a1', 'az1', '127.129.1.11'],
    ['a2', 'az1', '127.129.1.12'],
    ['a3', 'az1', '127.129.1.13'],
    ['b1', 'az2', '127.129.2.11'],
  ]);
  const azVoters = ['a1', 'a2', 'a3'];
  const leaderOp = operator({
    local: { voters: azVoters, learners: [], lastIndex: 20, applyLagEntries: 0, members: [{ id: 'a2', matchIndex: 17, lagEntries: 3, recentActive: true, learner: false }, { id: 'a3', matchIndex: 0, lagEntries: 20, recentActive: false, learner: false }] },
    global: { voters: ['az1', 'az2'], learners: [], lastIndex: 9, applyLagEntries: 0, members: [{ id: 'az2', matchIndex: 7, lagEntries: 2, recentActive: true, learner: false }] },
    vips: [{ address: '127.129.1.1', scope: 'local', held: true }, { address: '127.129.10.1', scope: 'global', held: true }],
    cas: [
      { issuerId: 'r', role: 'root', az: null, nodeId: null, notAfterMs: NOW + 9e9, revoked: false, renewAtMs: null },
      { issuerId: 'n1', role: 'node', az: 'az1', nodeId: 'a1', notAfterMs: NOW + 1e9, revoked: false, renewAtMs: NOW + 6e8 },
    ],
    crls: [{ issuerId: 'n1', crlNumber: 4, thisUpdateMs: NOW - 60_000, nextUpdateMs: NOW + 3_600_000, bytes: 300 }],
    ocspSigners: [{ issuerId: 'n1', issuedAtMs: NOW - 3_600_000, notAfterMs: NOW + 86_400_000 }],
    revocationsByIssuer: { n1: 2, r: 1 },
  });
  const gathered = (entries: [string, NodeReport | null][]): Map<string, Gathered> => new Map(entries.map(([id, r]) => [id, { report: r, lastContactMs: r === null ? NOW - 5_000 : NOW }]));
  const viewOf = (g: Map<string, Gathered>): ClusterView => clusterView({ map, gathered: g, servedBy: 'a1', nowMs: NOW, issuance: { window: NO_ISSUANCE, windowSeconds: 10, total: NO_ISSUANCE } });
  const all = (): Map<string, Gathered> =>
    gathered([
      ['a1', report(status('a1', 'az1', { role: 'leader', term: 4 }, { pkiGlobalLeader: true, global: { role: 'leader', term: 2, leaderId: 'az1', commitIndex: 9, appliedIndex: 9 } }), leaderOp)],
      // A deposed leader that has not heard of term 4 yet: the higher term is the local leader.
      ['a2', report(status('a2', 'az1', { role: 'leader', term: 3 }), operator({ local: { voters: azVoters, learners: [], lastIndex: 17, applyLagEntries: 0, members: [] } }))],
      ['a3', null],
      ['b1', report(status('b1', 'az2', { role: 'leader', term: 1 }, { global: { role: 'follower', term: 2, leaderId: 'az1', commitIndex: 7, appliedIndex: 7 } }), operator({ local: { voters: ['b1'], learners: [], lastIndex: 5, applyLagEntries: 0, members: [] }, global: { voters: ['az1', 'az2'], learners: [], lastIndex: 7, applyLagEntries: 0, members: null }, crls: [{ issuerId: 'n1', crlNumber: 3, thisUpdateMs: NOW - 120_000, nextUpdateMs: NOW, bytes: 280 }] }))],
    ]);

  it("carries each CA's renewal time and, per CRL issuer, the newest OCSP responder certificate any AZ reported", () => {
    const v = viewOf(all());
    expect(v.cas.map((c) => c.renewAtMs)).to.deep.equal([null, NOW + 6e8]);
    const n1 = v.crls.find((c) => c.issuerId === 'n1');
    expect(n1?.ocspSigner).to.deep.equal({ issuedAtMs: NOW - 3_600_000, notAfterMs: NOW + 86_400_000 });
  });

  it('names each AZ local leader by the highest term, the global leader, and the VIP holders', () => {
    const v = viewOf(all());
    const az1 = v.azs.find((a) => a.name === 'az1');
    expect(az1?.localLeader).to.equal('a1');
    expect(az1?.localVipHolder).to.equal('a1');
    expect(v.azs.find((a) => a.name === 'az2')?.localLeader).to.equal('b1');
    expect(v.globalLeader).to.equal('a1');
    expect(v.globalVipHolder).to.equal('a1');
    expect(v.leadingSeat).to.equal('az1');
  });

  it("takes each member's lag from its leader's matchIndex (Raft §5.3), and shows an unanswering node unreachable", () => {
    const az1 = viewOf(all()).azs.find((a) => a.name === 'az1');
    const row = (id: string) => az1?.nodes.find((n) => n.nodeId === id);
    expect(row('a1')?.local?.lagEntries).to.equal(0);
    expect(row('a2')?.local?.lagEntries).to.equal(3);
    expect(row('a3')?.reachable).to.equal(false);
    expect(row('a3')?.local).to.equal(null);
    expect(row('a3')?.lastContactMs).to.equal(NOW - 5_000);
    expect(row('a1')?.label).to.equal('a1 (127.129.1.11)');
    expect(viewOf(all()).seats.find((s) => s.az === 'az2')?.lagEntries).to.equal(2);
  });

  it("shows the map's status of each node: inactive once its AZ's local leader has not heard from it (node aging), revoked for good", () => {
    const aged: ClusterMap = { ...map, nodes: map.nodes.map((n) => (n.nodeId === 'a3' ? { ...n, status: 'inactive' as const } : n.nodeId === 'b1' ? { ...n, status: 'revoked' as const } : n)) };
    const v = clusterView({ map: aged, gathered: all(), servedBy: 'a1', nowMs: NOW, issuance: { window: NO_ISSUANCE, windowSeconds: 10, total: NO_ISSUANCE } });
    const row = (id: string) => v.azs.flatMap((a) => a.nodes).find((n) => n.nodeId === id);
    expect([row('a1')?.status, row('a3')?.status, row('b1')?.status]).to.deep.equal(['active', 'inactive', 'revoked']);
    expect([row('a3')?.revoked, row('b1')?.revoked]).to.deep.equal([false, true]);
  });

  it('counts tolerance per tier: an AZ by its reachable voters, the global tier by the AZs that still have a quorum', () => {
    const v = viewOf(all());
    expect(v.azs.find((a) => a.name === 'az1')?.toleranceText).to.equal('az1 can lose 0 nodes');
    expect(v.globalToleranceText).to.equal('the global tier can lose 0 AZs');
    const g = all();
    g.set('a2', { report: null, lastContactMs: null });
    const lost = viewOf(g);
    expect(lost.azs.find((a) => a.name === 'az1')?.tolerance.canLose).to.equal(-1);
    expect(lost.globalTolerance.canLose).to.equal(-1);
  });

  it('keeps the newest CRL per issuer (RFC 5280 §5.2.3 CRL number), counts revocations, lists CAs soonest first', () => {
    const v = viewOf(all());
    expect(v.crls).to.have.length(1);
    expect(v.crls[0]?.crlNumber).to.equal(4);
    expect(v.crls[0]?.label).to.equal('node ICA a1 (127.129.1.11)');
    expect(v.revocations).to.equal(3);
    expect(v.cas.map((c) => c.label)).to.deep.equal(['root CA', 'node ICA a1 (127.129.1.11)']);
  });

  it('merges the leader changes of every node, newest first', () => {
    const g = all();
    const a1 = g.get('a1')?.report as NodeReport;
    const b1 = g.get('b1')?.report as NodeReport;
    a1.roleChanges = [{ atMs: NOW - 3_000, nodeId: 'a1', az: 'az1', tier: 'local', term: 4 }];
    b1.roleChanges = [{ atMs: NOW - 1_000, nodeId: 'b1', az: 'az2', tier: 'local', term: 1 }];
    expect(viewOf(g).leaderChanges.map((c) => c.nodeId)).to.deep.equal(['b1', 'a1']);
  });

  it('accepts a peer report only with the fields it reads', () => {
    const r = report(status('b1', 'az2', {}));
    expect(nodeReportFromJson(JSON.parse(JSON.stringify(r)))).to.deep.equal(r);
    expect(nodeReportFromJson({ ...r, operator: { ...r.operator, vips: 'x' } })).to.equal(null);
    expect(nodeReportFromJson('nope')).to.equal(null);
  });
});

describe('dashboard: the collector gathers only while watched', () => {
  function collector(fetched: string[]) {
    const map = mapOf([['a1', 'az1', '127.129.1.11'], ['b1', 'az2', '127.129.2.11']]);
    let now = NOW;
    const c = new DashboardCollector({
      node: { nodeId: 'a1', clusterMap: async () => ({ unchanged: false, map, etag: 'e' }) },
      ownReport: async () => report(status('a1', 'az1', { role: 'leader' })),
      fetchReport: async (host) => {
        fetched.push(host);
        return host === '127.129.2.11' ? report(status('b1', 'az2', { role: 'leader' })) : null;
      },
      nowMs: () => (now += 10),
      roundMs: 10,
      onError: (err) => {
        throw err;
      },
    });
    return c;
  }

  it('asks the other nodes at their API host, widens the issuance window round by round, and stops when the last watcher leaves', async () => {
    const fetched: string[] = [];
    const c = collector(fetched);
    const views: ClusterView[] = [];
    const unwatch = c.watch({ view: (v) => views.push(v), end: () => undefined });
    await waitFor('three views', () => views.length >= 3, 5_000);
    unwatch();
    expect(fetched.every((h) => h === '127.129.2.11')).to.equal(true);
    expect(views.at(-1)?.azs.map((a) => a.localLeader)).to.deep.equal(['a1', 'b1']);
    expect(views[0]?.issuance.windowSeconds).to.equal(0);
    expect(views[2]?.issuance.windowSeconds).to.be.closeTo(0.02, 1e-9);
    const asked = fetched.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(fetched.length).to.be.at.most(asked + 1);
  });

  it('ends every watcher on stop', async () => {
    const c = collector([]);
    let ended = 0;
    const w: Watcher = { view: () => undefined, end: () => ended++ };
    c.watch(w);
    c.watch({ ...w });
    c.stop();
    expect(ended).to.equal(2);
  });
});

describe('dashboard: routes over a real listener', () => {
  let server: HttpServer;
  let port: number;
  const watchers = new Set<Watcher>();

  before(async () => {
    const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const router = addDashboardRoutes(new Router(), {
      collector: {
        watch: (w) => {
          watchers.add(w);
          w.view({ clusterId: 'c1' } as ClusterView);
          return () => watchers.delete(w);
        },
      },
      ownReport: async () => report(status('a1', 'az1', {})),
      node: { recentRevocations: async () => [] },
      adminToken: Buffer.from('secret'),
    });
    server = new HttpServer({ router, logger });
    port = (await server.listen(0, HOST)).port;
  });

  after(async () => {
    await server.close(100);
  });

  const get = (path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => httpRequest({ host: HOST, port, path, headers }, resolve).on('error', reject).end());
  const bodyOf = async (res: IncomingMessage): Promise<string> => {
    let text = '';
    for await (const chunk of res) text += String(chunk);
    return text;
  };

  it('serves the page with a policy that allows only its own scripts, and its modules', async () => {
    const page = await get('/dashboard');
    expect(page.statusCode).to.equal(200);
    expect(page.headers['content-security-policy']).to.contain("script-src 'self'").and.contain("default-src 'none'");
    expect(await bodyOf(page)).to.contain('<script type="module" src="/dashboard/app.js">');
    for (const path of ['/dashboard/app.js', '/dashboard/view.js']) {
      const js = await get(path);
      expect(js.headers['content-type']).to.equal('text/javascript; charset=utf-8');
      expect(await bodyOf(js)).to.contain('export');
    }
  });

  it('streams the view as text/event-stream (retry, then `event: cluster`) and unwatches when the client goes', async () => {
    const res = await get('/dashboard/events');
    expect(res.headers['content-type']).to.equal('text/event-stream; charset=utf-8');
    let text = '';
    for await (const chunk of res) {
      text += String(chunk);
      if (text.includes('\n\nevent: cluster\ndata: ') && text.endsWith('\n\n')) break;
    }
    expect(text.startsWith('retry: 1000\n\n')).to.equal(true);
    expect(JSON.parse(text.split('data: ')[1] as string)).to.deep.equal({ clusterId: 'c1' });
    res.destroy();
    await waitFor('the stream to unwatch', () => watchers.size === 0, 5_000);
  });

  it('refuses the admin token over plain HTTP (it would travel in the clear)', async () => {
    const res = await get('/dashboard/events', { authorization: 'Bearer secret' });
    expect(res.statusCode).to.equal(403);
    expect((JSON.parse(await bodyOf(res)) as { error: { code: string } }).error.code).to.equal('ERR_FORBIDDEN');
    expect(watchers.size).to.equal(0);
  });

  it("answers this node's report as JSON", async () => {
    const res = await get('/api/v1/nodeReport');
    expect(nodeReportFromJson(JSON.parse(await bodyOf(res)))?.status.nodeId).to.equal('a1');
  });
});

describe('dashboard metrics: the operator gauges on /metrics', () => {
  const op = operator({
    local: { voters: ['a1', 'a2'], learners: [], lastIndex: 30, applyLagEntries: 2, members: [{ id: 'a2', matchIndex: 25, lagEntries: 5, recentActive: true, learner: false }] },
    vips: [{ address: '127.129.1.1', scope: 'local', held: true }, { address: '127.129.10.1', scope: 'global', held: false }],
    cas: [{ issuerId: 'r', role: 'root', az: null, nodeId: null, notAfterMs: NOW + 86_400_000, revoked: false, renewAtMs: null }],
    crls: [{ issuerId: 'r', crlNumber: 2, thisUpdateMs: NOW - 90_000, nextUpdateMs: NOW + 1, bytes: 321 }],
    revocationsByIssuer: { r: 4 },
  });

  it('exports lag per tier and member, VIPs held, revocations, CRL age and size, and seconds to each CA expiry', async () => {
    const m = createMetrics();
    setOperatorGauges(m, op, NOW);
    const text = await m.registry.metrics();
    expect(text).to.contain('adrestia_raft_replication_lag_entries{group="local",member="a2"} 5');
    expect(text).to.contain('adrestia_raft_apply_lag_entries{group="local"} 2');
    expect(text).to.contain('adrestia_vip_held{vip="127.129.1.1",scope="local"} 1');
    expect(text).to.contain('adrestia_vip_held{vip="127.129.10.1",scope="global"} 0');
    expect(text).to.contain('adrestia_revocations{issuer="r"} 4');
    expect(text).to.contain('adrestia_crl_age_seconds{issuer="r"} 90');
    expect(text).to.contain('adrestia_crl_bytes{issuer="r"} 321');
    expect(text).to.contain('adrestia_ca_expiry_seconds{issuer="r",role="root",az="",ca_node=""} 86400');
  });

  it('drops the series of a member no longer reported (a node stepped down or left)', async () => {
    const m = createMetrics();
    setOperatorGauges(m, op, NOW);
    setOperatorGauges(m, operator(), NOW);
    expect(await m.registry.metrics()).to.not.contain('member="a2"');
  });
});

describe('deploy/grafana: the Grafana dashboard queries only series /metrics exports', () => {
  it('every adrestia_* name in its expressions is a metric of the registry (histograms by their _bucket series)', async () => {
    const json = JSON.parse(readFileSync(new URL('../../../deploy/grafana/adrestia-pki.json', import.meta.url), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const known = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = json.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/adrestia_[a-z_]+/g) ?? []));
    expect(used.length).to.be.greaterThan(10);
    const unknown = used.filter((name) => !known.has(name) && !known.has(name.replace(/_(bucket|count|sum)$/, '')));
    expect(unknown).to.deep.equal([]);
    for (const name of ['adrestia_vip_held', 'adrestia_raft_replication_lag_entries', 'adrestia_ca_expiry_seconds', 'adrestia_crl_age_seconds', 'adrestia_crl_bytes', 'adrestia_revocations']) expect(used).to.include(name);
  });
});
