// One node's public report (GET /api/v1/nodeReport on the plain-HTTP port): its status, what
// PkiNodeApi.operatorReport says, its issuance counters and the leader roles it took. Any node's
// dashboard gathers these from every node (collector.ts); nothing in it is secret: roles, log
// indexes, VIPs, CA certificate and CRL dates are what the cluster map, CRLs and /metrics show.
import type { OperatorReport, PkiNodeApi, PkiNodeStatus } from '@adrestia/pki-core';
import type { Metrics } from '../metrics/metrics.ts';
import { httpCall, jsonOf } from '../peer/http-request.ts';
import { issuanceFigures, type IssuanceFigures } from './issuance-figures.ts';
import type { RoleChange, RoleLog } from './role-log.ts';

export interface NodeReport {
  atMs: number;
  status: PkiNodeStatus;
  operator: OperatorReport;
  issuance: IssuanceFigures;
  roleChanges: RoleChange[];
}

export interface NodeReportSource {
  node: Pick<PkiNodeApi, 'status' | 'operatorReport'>;
  metrics: Pick<Metrics, 'issuanceTotal' | 'issuanceSeconds'>;
  roleLog: Pick<RoleLog, 'recent'>;
  nowMs: () => number;
}

export async function nodeReport(s: NodeReportSource): Promise<NodeReport> {
  const [operator, issuance] = await Promise.all([s.node.operatorReport(), issuanceFigures(s.metrics)]);
  return { atMs: s.nowMs(), status: s.node.status(), operator, issuance, roleChanges: s.roleLog.recent() };
}

/** Bound on a report's size: a node's CAs and CRL summaries, a few kB per AZ. */
const REPORT_BYTES_MAX = 1024 * 1024;

/** A node's report over plain HTTP at its host and the public HTTP port; null when it does not answer in time or not with a report. */
export async function fetchNodeReport(host: string, port: number | string, o: { timeoutMs: number; localAddress?: string | undefined }): Promise<NodeReport | null> {
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/api/v1/nodeReport`;
  const r = await httpCall(url, { timeoutMs: o.timeoutMs, maxResponseBytes: REPORT_BYTES_MAX, ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }) }).catch(() => null);
  return r?.status === 200 ? nodeReportFromJson(jsonOf(r)) : null;
}

/** A peer's answer, checked for the fields the dashboard reads; null when it is not a report. */
export function nodeReportFromJson(value: unknown): NodeReport | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Partial<NodeReport>;
  const ok =
    typeof r.atMs === 'number' &&
    typeof r.status?.nodeId === 'string' &&
    typeof r.status.az === 'string' &&
    typeof r.status.local?.term === 'number' &&
    typeof r.status.global?.term === 'number' &&
    Array.isArray(r.operator?.local?.voters) &&
    Array.isArray(r.operator.global?.voters) &&
    Array.isArray(r.operator.vips) &&
    Array.isArray(r.operator.cas) &&
    Array.isArray(r.operator.crls) &&
    typeof r.issuance?.requests === 'number' &&
    Array.isArray(r.issuance.buckets) &&
    Array.isArray(r.roleChanges);
  return ok ? (r as NodeReport) : null;
}
