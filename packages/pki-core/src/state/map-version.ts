// The replicated version of the cluster map's replicated part (docs/architecture.md §8): a
// counter in `meta`, raised by one in the same atomic batch as every accepted event that changes
// what node/status/cluster-map-view.ts reads from the state — the cluster record, the AZ list
// (name, subnets, local VIP), the node records, the root and AZ CA certificates, and the
// revocation mark of an AZ or node CA. Only global events do that, and every AZ applies the global
// log in the same order with the same outcomes (README "One log or two"), so every node of every
// AZ holds the same counter with the same map inputs; it survives restarts (the log replays it)
// and snapshots (it is a `meta` record). Events that leave those inputs alone (an AZ's phase, key
// rewraps, node CAs before their node registers, leaves, CRLs, sweeps) leave it alone, so equal
// inputs at different counters happen only when the inputs came back to an earlier value.
import type { StateTxn } from './txn.ts';

/** The counter's ceiling: cluster/map-generation.ts folds it into a safe integer. */
export const MAP_VERSION_MAX = 2 ** 32 - 2;

export async function raiseMapVersion(tx: StateTxn): Promise<void> {
  const version = (await tx.getMeta('mapVersion')) ?? 0;
  if (version >= MAP_VERSION_MAX) throw new Error(`assertion failed: cluster map version ${version} at its ceiling`);
  tx.putMeta('mapVersion', version + 1);
}
