// Local-leader failover at scale (bench/scale.bench.ts): one AZ of three real PkiNodes in one
// process (the pki-core test harness: in-memory Raft networks, 5 ms ticks, elections after 10),
// each keeping its PKI state on LevelDB with descriptor snapshots, as the server's nodes do. N
// leaves (local log) and N/10 revocations (global log) are committed through the local leader (real
// Raft replication and apply on every replica; the events are generated, not signed over HTTPS), then the local leader
// is stopped and the time until a survivor answers a real issuance (an openssl CSR made before
// the clock starts) is the failover. The stopped node is restarted and caught up before the next
// trial, so each trial starts from three live nodes.
import { PkiTestCluster, CLUSTER_ID, azSpec, eventually, issueVia, opensslCsr } from '../packages/pki-core/test/node-cluster-harness.ts';
import { isPkiError, type PkiNode } from '../packages/pki-core/src/index.ts';
import { issuedEvent, revokedEvent, REVOKED_FRACTION } from './bench-scale-state.ts';

/** Events committed at once: enough for Readies to carry hundreds of entries, as under load. */
const IN_FLIGHT = 256;
/** Local snapshots (descriptors) every this many entries, so the in-memory Raft log stays bounded. */
const SNAPSHOT_EVERY_ENTRIES = 8192;
const AZ = 'az1';
const COMMIT_ATTEMPTS_MAX = 50;
const TRANSIENT = ['ERR_NO_GLOBAL_QUORUM', 'ERR_NO_LOCAL_QUORUM', 'ERR_NOT_LEADER', 'ERR_TIMEOUT'] as const;

export interface FailoverFigures {
  certificates: number;
  /** Committed leaves (local log) and revocations (global log) per second while filling, three replicas applying. */
  leavesPerSecond: number;
  revocationsPerSecond: number;
  /** Stop of the local leader → first issuance answered by a survivor, per trial. */
  failoverSeconds: number[];
  /** The median of failoverSeconds. */
  failoverMedianSeconds: number;
}

/** Leaves are local events; revocations are global (the authoritative list, every AZ applies it). */
async function commitAll(leader: () => PkiNode, count: number, tier: 'local' | 'global', make: (i: number) => Parameters<PkiNode['commitOk']>[0]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const event = make(next++);
      // Three nodes on two shared cores under this load may miss a heartbeat and elect again:
      // a lost proposal is retried (a retried leaf is answered as a duplicate, a revocation as ERR_ALREADY_REVOKED).
      for (let attempt = 1; ; attempt++) {
        try {
          await leader().commitOk(event, tier);
          break;
        } catch (e) {
          if (isPkiError(e, 'ERR_ALREADY_REVOKED') && attempt > 1) break;
          if (attempt >= COMMIT_ATTEMPTS_MAX || !TRANSIENT.some((code) => isPkiError(e, code))) throw e;
          await sleep(50);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function measureFailover(n: number, trials: number): Promise<FailoverFigures> {
  const c = new PkiTestCluster({ snapshotEveryEntries: SNAPSHOT_EVERY_ENTRIES }, { stateOnDisk: true, streamed: true });
  try {
    await c.start('a1', AZ, { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1) });
    for (const id of ['a2', 'a3']) await c.start(id, AZ, { mode: 'join', localLeaderId: 'a1' });
    await eventually('every node ready', () => c.live().every((node) => node.status().ready), 60_000);
    const leader = (): PkiNode => c.localLeader(AZ) ?? c.nodes.get('a1')!;
    const probe = await issueVia(leader(), c, 'probe');
    const t0 = Date.now();
    let started = performance.now();
    await commitAll(leader, n, 'local', (i) => issuedEvent(i, probe.issuerId, t0));
    const leavesPerSecond = n / ((performance.now() - started) / 1000);
    const revoked = Math.round(n * REVOKED_FRACTION);
    started = performance.now();
    await commitAll(leader, revoked, 'global', (i) => revokedEvent(Math.floor(i / REVOKED_FRACTION), n, probe.issuerId, t0));
    const revocationsPerSecond = revoked / ((performance.now() - started) / 1000);

    const failoverSeconds: number[] = [];
    for (let trial = 0; trial < trials; trial++) {
      const { csrPem } = opensslCsr(c.dataDir, `failover-${trial}`, `failover-${trial}.svc.example`);
      const old = c.localLeader(AZ);
      if (old === undefined) throw new Error('bench: no local leader before the trial');
      const t = performance.now();
      await c.crash(old.nodeId);
      for (;;) {
        const now = c.localLeader(AZ);
        if (now !== undefined) {
          try {
            await now.issue({ csr: csrPem, profile: 'serverLeaf', requester: `bench:failover-${trial}` });
            break;
          } catch {
            // Not settled yet (leader lease, fence, forwarded proposal lost): try again.
          }
        }
        await sleep(2);
      }
      failoverSeconds.push((performance.now() - t) / 1000);
      const back = await c.start(old.nodeId, AZ, { mode: 'restart' });
      await eventually(
        `${old.nodeId} caught up`,
        () => back.status().ready && back.app.appliedSeq() >= leader().app.appliedSeq(),
        600_000,
      );
    }
    return { certificates: n, leavesPerSecond, revocationsPerSecond, failoverSeconds, failoverMedianSeconds: median(failoverSeconds) };
  } finally {
    await c.stop();
  }
}
