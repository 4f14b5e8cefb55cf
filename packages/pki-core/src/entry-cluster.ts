// @adrestia/pki-core/cluster: the cluster building blocks a server puts in front of a PkiNode —
// which AZ and node a request belongs to (routing), the cluster map as clients receive it, and the
// clock-drift bound of VIP fencing. Only what is used outside this package is listed here.

// Routing: which AZ a client address belongs to and where its request must go.
export { decideRoute, parseRoutingTable, type KnownLeaders, type RequestClass, type RouteContext } from './cluster/routing.ts';
// The cluster map: AZ name syntax, and the map read back from the JSON a node serves.
export { AZ_NAME } from './cluster/cluster-map.ts';
export { clusterMapFromJson } from './cluster/cluster-map-codec.ts';
// `clusterMap?since=`: a generation number or an ETag (map-generation.ts).
export { parseClusterMapSince } from './cluster/map-generation.ts';
// VIP fencing: the clock-drift allowance for clocks whose rates err by at most a bound.
export { clockDriftBoundMs } from './cluster/vip-fence.ts';
