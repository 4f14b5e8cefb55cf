// Prometheus metrics on a registry of our own (not prom-client's global one), so several nodes in
// one process (dev cluster, tests) never share or clobber each other's series.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  issuanceTotal: Counter<'profile' | 'result'>;
  issuanceSeconds: Histogram<'profile' | 'result'>;
  raftTerm: Gauge<'group'>;
  raftCommitIndex: Gauge<'group'>;
  raftAppliedIndex: Gauge<'group'>;
  raftLeaderChangesTotal: Counter<'group'>;
  vipTransitionsTotal: Counter<'vip' | 'action' | 'result'>;
  httpRequestsTotal: Counter<'route' | 'method' | 'status'>;
  connectionsRefusedTotal: Counter<'listener' | 'reason'>;
  transportEventsTotal: Counter<'event'>;
  ocspRequestsTotal: Counter<'method' | 'outcome'>;
  acmeResponsesTotal: Counter<'status' | 'problem'>;
  raftReplicationLagEntries: Gauge<'group' | 'member'>;
  raftApplyLagEntries: Gauge<'group'>;
  vipHeld: Gauge<'vip' | 'scope'>;
  revocations: Gauge<'issuer'>;
  crlAgeSeconds: Gauge<'issuer'>;
  crlBytes: Gauge<'issuer'>;
  caExpirySeconds: Gauge<'issuer' | 'role' | 'az' | 'ca_node'>;
}

export interface MetricsOptions {
  /** Also export the process metrics (CPU, memory, event loop lag). Off in tests. */
  processMetrics?: boolean;
  /** Constant labels on every series, e.g. `{ node: nodeId }`. */
  defaultLabels?: Record<string, string>;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultLabels !== undefined) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry, prefix: 'adrestia_' });
  const registers = [registry];
  return {
    registry,
    issuanceTotal: new Counter({
      name: 'adrestia_issuance_total',
      help: 'Certificate issuance requests by profile and result',
      labelNames: ['profile', 'result'],
      registers,
    }),
    issuanceSeconds: new Histogram({
      name: 'adrestia_issuance_duration_seconds',
      help: 'Time from request to committed Issued event',
      labelNames: ['profile', 'result'],
      // Commit waits for a Raft round trip (and a global one for some events): ms to seconds.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    raftTerm: new Gauge({ name: 'adrestia_raft_term', help: 'Current Raft term', labelNames: ['group'], registers }),
    raftCommitIndex: new Gauge({
      name: 'adrestia_raft_commit_index',
      help: 'Highest log index known committed',
      labelNames: ['group'],
      registers,
    }),
    raftAppliedIndex: new Gauge({
      name: 'adrestia_raft_applied_index',
      help: 'Highest log index applied to the state machine',
      labelNames: ['group'],
      registers,
    }),
    raftLeaderChangesTotal: new Counter({
      name: 'adrestia_raft_leader_changes_total',
      help: 'Leader changes observed by this node',
      labelNames: ['group'],
      registers,
    }),
    vipTransitionsTotal: new Counter({
      name: 'adrestia_vip_transitions_total',
      help: 'VIP acquire/release attempts by VIP, action and result',
      labelNames: ['vip', 'action', 'result'],
      registers,
    }),
    httpRequestsTotal: new Counter({
      name: 'adrestia_http_requests_total',
      help: 'HTTP requests by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    connectionsRefusedTotal: new Counter({
      name: 'adrestia_connections_closed_total',
      help: 'Connections closed by the listener guard: over a cap (listenerFull, sourceFull), idle, or a failed TLS handshake',
      labelNames: ['listener', 'reason'],
      registers,
    }),
    transportEventsTotal: new Counter({
      name: 'adrestia_transport_events_total',
      help: 'Node-to-node transport events (connects, refusals, drops, oversize frames)',
      labelNames: ['event'],
      registers,
    }),
    ocspRequestsTotal: new Counter({
      name: 'adrestia_ocsp_requests_total',
      help: 'OCSP requests by method and outcome (good, revoked, unknown, or the RFC 6960 error status sent)',
      labelNames: ['method', 'outcome'],
      registers,
    }),
    acmeResponsesTotal: new Counter({
      name: 'adrestia_acme_responses_total',
      help: 'ACME answers by HTTP status and RFC 8555 §6.7 problem type (none for a success)',
      labelNames: ['status', 'problem'],
      registers,
    }),
    ...operatorGauges(registers),
  };
}

/** The gauges sampled from PkiNodeApi.operatorReport (serve/node-metrics.ts). */
function operatorGauges(registers: Registry[]) {
  return {
    raftReplicationLagEntries: new Gauge({
      name: 'adrestia_raft_replication_lag_entries',
      help: "On a tier's leader: entries each member's log trails the leader's last index by (Raft §5.3 matchIndex)",
      labelNames: ['group', 'member'] as const,
      registers,
    }),
    raftApplyLagEntries: new Gauge({ name: 'adrestia_raft_apply_lag_entries', help: 'Entries committed but not yet applied on this node, per tier', labelNames: ['group'] as const, registers }),
    vipHeld: new Gauge({ name: 'adrestia_vip_held', help: '1 while this node holds the VIP, else 0', labelNames: ['vip', 'scope'] as const, registers }),
    revocations: new Gauge({ name: 'adrestia_revocations', help: 'Revocations held (listed on CRLs until the certificate expires), per issuer', labelNames: ['issuer'] as const, registers }),
    crlAgeSeconds: new Gauge({ name: 'adrestia_crl_age_seconds', help: "Seconds since the issuer's latest CRL's thisUpdate (RFC 5280 §5.1.2.4)", labelNames: ['issuer'] as const, registers }),
    crlBytes: new Gauge({ name: 'adrestia_crl_bytes', help: "Size of the issuer's latest CRL (DER)", labelNames: ['issuer'] as const, registers }),
    caExpirySeconds: new Gauge({
      name: 'adrestia_ca_expiry_seconds',
      help: 'Seconds until each CA certificate expires (notAfter); negative once expired',
      labelNames: ['issuer', 'role', 'az', 'ca_node'] as const,
      registers,
    }),
  };
}

/** An `onEvent` sink for MtlsMesh that counts transport events by name. */
export function countTransportEvents(metrics: Metrics): (event: string) => void {
  return (event) => metrics.transportEventsTotal.inc({ event });
}
