// The dashboard of one node, put together: the log of its leader roles, its report, and the
// collector that gathers every node's report over plain HTTP from this node's own address
// (docs/spec.md §4.6: nodes speak from their own address), started by `serve` and stopped before
// its listeners close so that no stream holds a connection open.
import type { PkiNodeApi } from '@adrestia/pki-core';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { DashboardCollector } from './collector.ts';
import { fetchNodeReport, nodeReport, type NodeReport } from './node-report.ts';
import { RoleLog } from './role-log.ts';
import type { DashboardDeps } from './routes.ts';

/** How often the open dashboards are updated. */
const ROUND_MS = 1_000;
/** A node that has not answered within this is shown unreachable for the round. */
const REPORT_TIMEOUT_MS = 800;

export interface DashboardInput {
  node: PkiNodeApi;
  metrics: Metrics;
  /** This node's own address (the source of its requests) and the public HTTP port of every node. */
  host: string;
  httpPort: number;
  adminToken: Uint8Array | undefined;
  logger: Logger;
}

export interface Dashboard {
  deps: DashboardDeps;
  stop(): void;
}

export function startDashboard(d: DashboardInput): Dashboard {
  const roleLog = new RoleLog(d.node, Date.now);
  const ownReport = (): Promise<NodeReport> => nodeReport({ node: d.node, metrics: d.metrics, roleLog, nowMs: Date.now });
  const fetchReport = (host: string): Promise<NodeReport | null> => fetchNodeReport(host, d.httpPort, { timeoutMs: REPORT_TIMEOUT_MS, localAddress: d.host });
  const collector = new DashboardCollector({
    node: d.node,
    ownReport,
    fetchReport,
    nowMs: Date.now,
    roundMs: ROUND_MS,
    onError: (err) => d.logger.warn({ err }, 'dashboard round failed'),
  });
  return {
    deps: { collector, ownReport, node: d.node, adminToken: d.adminToken },
    stop: () => {
      collector.stop();
      roleLog.stop();
    },
  };
}
