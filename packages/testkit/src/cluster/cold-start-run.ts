// Start-up (docs/spec.md §3.7), made safe (docs/architecture.md §5.2), on the simulator: every node
// of a new cluster (3 AZs × 3) is started at nearly the same virtual instant against an empty
// cluster, each through discovery at the cluster VIP, over lossy, duplicating, delaying links.
// Exactly one node may found the cluster. The run must end in ONE cluster: one cluster id and one
// root on every node, every AZ founded once with one local group, every node registered and a voter
// of its AZ's group, every AZ a voter of the global group, a certificate issued in every AZ, and
// the checkers clean (one leader per tier and term, never two holders of a VIP).
import type { Violation } from './checkers.ts';
import { runUntilSettled } from './clients.ts';
import { PkiSimCluster } from './pki-cluster.ts';
import { PkiLedger, issueVia } from './pki-run.ts';

export interface ColdStartResult {
  seed: number;
  violations: Violation[];
  traceHash: string;
  virtualMs: number;
  /** Start attempts lost to a race and retried (e.g. an AZ founded by a sibling first). */
  startFailures: string[];
}

const START_JITTER_US = 50_000;
const FORM_BOUND_US = 90_000_000;

export async function runColdStartSeed(options: { seed: number }): Promise<ColdStartResult> {
  const cluster = new PkiSimCluster({ seed: options.seed, maxSkewPermille: 50, snapshotEveryEntries: 60 });
  const s = cluster.scheduler;
  const r = s.random;
  const startFailures: string[] = [];
  cluster.network.faults = { lossPermille: r.nextInt(60), duplicatePermille: r.nextInt(30), minDelayUs: 300, maxDelayUs: 300 + r.nextInt(5_000), spikePermille: r.nextInt(10), spikeDelayUs: 50_000 };
  try {
    const started = new Set<string>();
    for (const n of cluster.nodes.values()) {
      s.after(r.nextInt(START_JITTER_US), `cold start ${n.id}`, () => {
        void startUntilUp(cluster, n.id, startFailures).then(() => started.add(n.id));
      });
    }
    if (!(await s.runUntilTrue(() => started.size === cluster.nodes.size && cluster.isFormed(), FORM_BOUND_US))) {
      cluster.checker.report('liveness', `not one formed cluster within ${FORM_BOUND_US / 1e6} s: started ${[...started].sort().join(',')}; ${cluster.describeSeats()}`);
    } else {
      for (const m of await oneClusterViolations(cluster)) cluster.checker.report('durability', m);
      const ledger = new PkiLedger();
      for (const az of cluster.azs) {
        const leader = cluster.localLeaderOf(az.name);
        const issued = leader ? await runUntilSettled(cluster, issueVia(cluster, leader.id, `cold-start-${az.name}`, ledger), s.nowUs + 20_000_000) : null;
        if (!issued) cluster.checker.report('liveness', `no issuance in ${az.name} after the cold start (${JSON.stringify([...ledger.failures])})`);
      }
    }
  } catch (error) {
    cluster.checker.reportFailure(error, `pnpm sim -- --cluster --cold-start --seed ${options.seed}`);
  }
  const result = { seed: options.seed, violations: cluster.checker.violations, traceHash: s.traceHash(), virtualMs: s.nowMs, startFailures };
  await cluster.stopAll().catch(() => {});
  return result;
}

/** Bootstraps `id` (only a1 may found the cluster); a start that fails outright is tried again. */
async function startUntilUp(cluster: PkiSimCluster, id: string, failures: string[]): Promise<void> {
  for (;;) {
    try {
      await cluster.bootstrap(id, id === 'a1');
      return;
    } catch (e) {
      failures.push(`${id}: ${(e as { code?: string }).code ?? String(e)}`);
      await new Promise<void>((resolve) => cluster.scheduler.after(500_000, `restart ${id} after a failed start`, resolve));
    }
  }
}

/** What makes two clusters out of one: every node must agree on the cluster, its root and AZs. */
export async function oneClusterViolations(cluster: PkiSimCluster): Promise<string[]> {
  const out: string[] = [];
  const ids = new Set<string>();
  const roots = new Set<string>();
  const founders = new Map<string, Set<string>>();
  for (const n of cluster.alive()) {
    const store = n.node!.app.store;
    const c = await store.cluster();
    if (!c) {
      out.push(`${n.id} holds no cluster`);
      continue;
    }
    ids.add(c.clusterId);
    roots.add(c.rootIssuerId);
    for (const az of await store.azs()) {
      if (!founders.has(az.name)) founders.set(az.name, new Set());
      founders.get(az.name)!.add(az.founderNodeId ?? '(cluster founder)');
    }
    const registered = (await store.nodes()).length;
    if (registered !== cluster.nodes.size) out.push(`${n.id} knows ${registered} registered nodes, not ${cluster.nodes.size}`);
  }
  if (ids.size !== 1) out.push(`cluster ids: ${[...ids].join(', ')}`);
  if (roots.size !== 1) out.push(`roots: ${[...roots].join(', ')}`);
  for (const az of cluster.azs) {
    const f = founders.get(az.name);
    if (!f || f.size !== 1) out.push(`AZ ${az.name} founders seen: ${f ? [...f].join(', ') : 'none'}`);
    const leaders = new Set(cluster.nodesOf(az.name).map((n) => n.node?.status().local.leaderId ?? null));
    if (leaders.size !== 1 || leaders.has(null)) out.push(`AZ ${az.name} members name local leaders ${[...leaders].join(', ')}`);
  }
  return out;
}
