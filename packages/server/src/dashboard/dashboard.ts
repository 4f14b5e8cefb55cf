// The dashboard of one node, put together: the log of its leader roles, its report, and the
// collector that gathers every node's report over plain HTTP from this node's own address
// (docs/spec.md §4.6: nodes speak from their own address), started by `serve` and stopped before
// its listeners close so that no stream holds a connection open.
import type { PkiNodeApi } from '@adrestia/pki-core';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { httpCall, jsonOf } from '../peer/http-request.ts';
import { DashboardCollector } from './collector.ts';
import { nodeReport, nodeReportFromJson, type NodeReport } from './node-report.ts';
import { RoleLog } from './role-log.ts';
import type { DashboardDeps } from './routes.ts';

/** How often the open dashboards are updated. */
const ROUND_MS = 1_000;
/** A node that has not answered within this is shown unreachable for the round. */
const REPORT_TIMEOUT_MS = 800;
const REPORT_BYTES_MAX = 1024 * 1024;

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
  const fetchReport = async (host: string): Promise<NodeReport | null> => {
    try {
      const r = await httpCall(`http://${host.includes(':') ? `[${host}]` : host}:${d.httpPort}/api/v1/nodeReport`, { timeoutMs: REPORT_TIMEOUT_MS, maxResponseBytes: REPORT_BYTES_MAX, localAddress: d.host });
      return r.status === 200 ? nodeReportFromJson(jsonOf(r)) : null;
    } catch {
      return null;
    }
  };
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
