import { expect } from 'chai';
import { createMetrics } from '../src/metrics/metrics.ts';

describe('metrics registry', function () {
  it('exposes issuance, Raft, VIP and HTTP series in Prometheus text format', async function () {
    const m = createMetrics({ defaultLabels: { node: 'n1' } });
    m.issuanceTotal.inc({ profile: 'tls-server', result: 'ok' });
    m.issuanceSeconds.observe({ profile: 'tls-server', result: 'ok' }, 0.012);
    m.raftTerm.set({ group: 'local:az1' }, 4);
    m.raftCommitIndex.set({ group: 'global' }, 17);
    m.raftAppliedIndex.set({ group: 'global' }, 16);
    m.raftLeaderChangesTotal.inc({ group: 'global' });
    m.vipTransitionsTotal.inc({ vip: '127.1.0.1', action: 'acquire', result: 'ok' });
    m.httpRequestsTotal.inc({ route: '/api/v1/status', method: 'GET', status: '200' });
    const text = await m.registry.metrics();
    expect(text).to.contain('adrestia_issuance_total{profile="tls-server",result="ok",node="n1"} 1');
    expect(text).to.contain('adrestia_issuance_duration_seconds_bucket{le="0.025",node="n1",profile="tls-server",result="ok"} 1');
    expect(text).to.contain('adrestia_raft_term{group="local:az1",node="n1"} 4');
    expect(text).to.contain('adrestia_raft_commit_index{group="global",node="n1"} 17');
    expect(text).to.contain('adrestia_raft_applied_index{group="global",node="n1"} 16');
    expect(text).to.contain('adrestia_raft_leader_changes_total{group="global",node="n1"} 1');
    expect(text).to.contain('adrestia_vip_transitions_total{vip="127.1.0.1",action="acquire",result="ok",node="n1"} 1');
    expect(text).to.contain('adrestia_http_requests_total{route="/api/v1/status",method="GET",status="200",node="n1"} 1');
  });

  it('keeps separate registries per node in one process', async function () {
    const a = createMetrics();
    const b = createMetrics();
    a.raftTerm.set({ group: 'global' }, 9);
    expect(await b.registry.metrics()).not.to.contain('adrestia_raft_term{group="global"} 9');
  });
});
