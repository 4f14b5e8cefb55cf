// Grows a cluster the way the product does (docs/architecture.md §5, consensus two-tier tests):
// the first node of the first AZ founds its local group and the global group; the first node of
// every other AZ founds its local group and its seat joins the global group (learner, then voter);
// every other node joins its AZ's local group as a learner and is promoted once it caught up
// (thesis §4.2.1). Each step retries until it holds or the virtual-time bound passes.
import type { ConfChangeOp } from '@adrestia/consensus';
import type { SimCluster } from './sim-cluster.ts';

const STEP_US = 20_000;

export async function growCluster(cluster: SimCluster, boundUs: number): Promise<boolean> {
  const s = cluster.scheduler;
  const deadline = s.nowUs + boundUs;
  const until = (cond: () => boolean): Promise<boolean> => s.runUntilTrue(cond, Math.max(0, deadline - s.nowUs));
  for (const [i, az] of cluster.azs.entries()) {
    const founder = await cluster.start(cluster.nodesOf(az)[0]!.id);
    founder.node!.campaignLocal();
    if (!(await until(() => founder.node?.status().seat != null))) return false;
    if (i === 0) {
      founder.node!.campaignGlobal();
      if (!(await until(() => cluster.globalLeader() !== null))) return false;
      continue;
    }
    for (const op of ['addLearner', 'addVoter'] as const) if (!(await changeSeats(cluster, op, az, deadline))) return false;
  }
  for (const az of cluster.azs) {
    for (const n of cluster.nodesOf(az).slice(1)) {
      await cluster.start(n.id);
      for (const op of ['addLearner', 'addVoter'] as const) if (!(await changeLocal(cluster, az, op, n.id, deadline))) return false;
    }
  }
  return until(() => cluster.hasAllLeaders());
}

/** The global leader's seat adds AZ `az`; done once its configuration shows the change. */
async function changeSeats(cluster: SimCluster, op: ConfChangeOp, az: string, deadlineUs: number): Promise<boolean> {
  const s = cluster.scheduler;
  const applied = (): boolean => {
    const conf = cluster.globalLeader()?.node?.status().seat?.confState;
    return conf !== undefined && (op === 'addVoter' ? conf.voters : conf.learners).includes(az);
  };
  while (!applied() && s.nowUs < deadlineUs) {
    try {
      cluster.globalLeader()?.node?.changeGlobalMembership({ changes: [{ op, nodeId: az }] });
    } catch {
      // no active seat on that node right now, or a change pending: retry
    }
    await s.runUntilTrue(applied, Math.min(10 * STEP_US, Math.max(0, deadlineUs - s.nowUs)));
  }
  return applied();
}

/** The AZ's local leader adds node `id` to its local group. */
async function changeLocal(cluster: SimCluster, az: string, op: ConfChangeOp, id: string, deadlineUs: number): Promise<boolean> {
  const s = cluster.scheduler;
  while (s.nowUs < deadlineUs) {
    const leader = cluster.localLeaderOf(az)?.node;
    if (leader) {
      let settled = false;
      let ok = false;
      void leader.changeLocalMembership({ changes: [{ op, nodeId: id }] }).then(
        () => void ((ok = true), (settled = true)),
        () => void (settled = true),
      );
      await s.runUntilTrue(() => settled, Math.max(0, deadlineUs - s.nowUs));
      if (ok) return true;
    }
    await s.runUntil(Math.min(deadlineUs, s.nowUs + STEP_US));
  }
  return false;
}
