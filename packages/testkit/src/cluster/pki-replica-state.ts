// Replicas of one AZ that applied the same prefix of the AZ's local log hold the same PKI state,
// byte for byte (a replicated state machine is deterministic: Schneider 1990; Raft §5.4.3
// guarantees the same commands in the same order, only determinism makes the states equal).
// Compared after recovery, when every live node of an AZ has applied the same local index: a
// difference means apply read something other than the event (a clock, randomness, iteration
// order, node-local state).
import { createHash } from 'node:crypto';
import type { PkiSimCluster } from './pki-cluster.ts';

interface ReplicaDigest {
  id: string;
  appliedIndex: number;
  digest: string;
  entries: Map<string, string>;
}

/** The replica's state, or null when an apply ran while it was read (compare only still states). */
async function digestOf(id: string, store: { appliedIndex(): number; dump(): Promise<[string, Uint8Array][]> }): Promise<ReplicaDigest | null> {
  const appliedIndex = store.appliedIndex();
  const rows = await store.dump();
  if (store.appliedIndex() !== appliedIndex) return null;
  const hash = createHash('sha256');
  const entries = new Map<string, string>();
  for (const [key, value] of rows) {
    // A node's own history (audit-chain.ts) starts where its last snapshot install left it.
    if (key.startsWith('!audit!')) continue;
    const v = Buffer.from(value).toString('hex');
    hash.update(key).update('\0').update(v).update('\n');
    entries.set(key, v);
  }
  return { id, appliedIndex, digest: hash.digest('hex'), entries };
}

/** The first key whose value differs between two replicas, for the report. */
function firstDifference(a: ReplicaDigest, b: ReplicaDigest): string {
  const keys = [...new Set([...a.entries.keys(), ...b.entries.keys()])].sort();
  const key = keys.find((k) => a.entries.get(k) !== b.entries.get(k));
  return key === undefined ? 'no key differs' : `first differing key ${JSON.stringify(key)}`;
}

/** True when every live node of every AZ has applied the same local index as its AZ's others. */
export function replicasCaughtUp(cluster: PkiSimCluster): boolean {
  return cluster.azs.every((az) => {
    const applied = cluster.nodesOf(az.name).filter((n) => n.alive).map((n) => n.node!.app.store.appliedIndex());
    return applied.every((i) => i === applied[0]);
  });
}

/** Violations: pairs of live replicas of one AZ, at one applied index, whose states differ. */
export async function replicaStateViolations(cluster: PkiSimCluster): Promise<string[]> {
  const out: string[] = [];
  for (const az of cluster.azs) {
    const digests: ReplicaDigest[] = [];
    for (const n of cluster.nodesOf(az.name).filter((x) => x.alive)) {
      const d = await digestOf(n.id, n.node!.app.store);
      if (d !== null) digests.push(d);
    }
    const [first, ...rest] = digests;
    for (const d of rest) {
      if (first !== undefined && d.appliedIndex === first.appliedIndex && d.digest !== first.digest) {
        out.push(`AZ ${az.name}: ${first.id} and ${d.id} applied local index ${d.appliedIndex} and hold different PKI state (${firstDifference(first, d)})`);
      }
    }
  }
  return out;
}
