export { ClusterMapView } from './cluster-map-view.ts';
export { ClusterReads } from './cluster-reads.ts';
export { NodeStatus } from './node-status.ts';
export { OperatorReports, type CaExpiry, type CrlReport, type MemberReplication, type OperatorReport, type RecentRevocation, type TierReport, type VipHolding } from './operator-report.ts';
