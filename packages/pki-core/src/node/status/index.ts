export { ClusterMapView } from './cluster-map-view.ts';
export { ClusterReads } from './cluster-reads.ts';
export { NodeStatus } from './node-status.ts';
