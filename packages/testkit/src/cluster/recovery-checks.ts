// What must hold once faults stop (every node restarted, the network healed):
//   liveness   — within a virtual-time bound every AZ has a local leader acting for its seat, a
//                global leader exists, and fresh local and global commands commit;
//   durability — every acknowledged local command is applied by every node of its AZ, and every
//                acknowledged global command by every node of every AZ (docs/spec.md §11:
//                never lose what was acknowledged).
import { commitWithRetry, type Ledger } from './clients.ts';
import type { SimCluster } from './sim-cluster.ts';

/** Convergence is polled at this virtual interval (checking every instant would dominate the run). */
const POLL_US = 50_000;

/** Acknowledged commands some live node that should hold them does not hold yet. */
export function missingAcks(cluster: SimCluster, ledger: Ledger): { text: string; nodes: string[] }[] {
  const out: { text: string; nodes: string[] }[] = [];
  for (const a of ledger.acks) {
    const holders = a.tier === 'local' ? cluster.nodesOf(a.az) : [...cluster.nodes.values()];
    const missing = holders.filter((n) => n.alive && !n.app?.has(a.text)).map((n) => n.id);
    if (missing.length > 0) out.push({ text: a.text, nodes: missing });
  }
  return out;
}

/**
 * Liveness after heal. Reports a 'liveness' violation and returns false when a step misses the
 * bound. The probe commands it commits are added to the ledger.
 */
export async function checkLiveness(cluster: SimCluster, ledger: Ledger, boundUs: number): Promise<boolean> {
  const s = cluster.scheduler;
  const deadline = s.nowUs + boundUs;
  if (!(await s.runUntilTrue(() => cluster.hasAllLeaders(), boundUs))) {
    const leaders = cluster.azs.map((az) => `${az}:${cluster.localLeaderOf(az)?.id ?? '-'}`).join(' ');
    cluster.checker.report('liveness', `no full set of leaders within ${boundUs / 1000} ms after heal (${leaders}, global ${cluster.globalLeader()?.id ?? '-'})`);
    return false;
  }
  for (const az of cluster.azs) {
    const local = await commitWithRetry(cluster, az, 'local', `probe.L.${az}`, deadline - s.nowUs, ledger);
    if (local.text === null) {
      cluster.checker.report('liveness', `no local command committed in ${az} after heal (errors ${local.errors.join(',')})`);
      return false;
    }
  }
  const az = cluster.azs[s.random.nextInt(cluster.azs.length)]!;
  const global = await commitWithRetry(cluster, az, 'global', `probe.G.${az}`, deadline - s.nowUs, ledger);
  if (global.text === null) {
    cluster.checker.report('liveness', `no global command committed from ${az} after heal (errors ${global.errors.join(',')})`);
    return false;
  }
  return true;
}

/**
 * Durability after heal: waits (bounded) until every live node holds what it must, and reports
 * every acknowledged command still missing then. `settled()` says when no client request is in
 * flight any more (a late acknowledgement still counts).
 */
export async function checkDurability(cluster: SimCluster, ledger: Ledger, boundUs: number, settled: () => boolean = () => true): Promise<boolean> {
  const s = cluster.scheduler;
  const deadline = s.nowUs + boundUs;
  while (s.nowUs < deadline && !(settled() && missingAcks(cluster, ledger).length === 0)) {
    await s.runUntil(Math.min(deadline, s.nowUs + POLL_US));
  }
  const missing = missingAcks(cluster, ledger);
  for (const m of missing) {
    cluster.checker.report('durability', `acknowledged ${m.text} not applied on ${m.nodes.join(',')} ${boundUs / 1000} ms after heal`);
  }
  return missing.length === 0;
}
