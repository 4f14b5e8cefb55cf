export { Founding, type OfflineRootFounding, type PkiNodeStart } from './founding.ts';
export { discover, type DiscoveryOptions } from './discovery.ts';
