// Health checks by ping (cluster/node-health.ts): the local leader pings its AZ's nodes; every
// local leader and the global leader ping the other AZs' nodes, whose answers name each AZ's local
// leader, so whichever AZ a client asks names every AZ's local leader and the global leader
// (status, cluster map).
import { healthOf, newHealthRecord, recordProbe, type HealthPolicy, type HealthRecord, type HealthState } from '../../cluster/node-health.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeContext } from '../core/context.ts';
import type { PkiTwoTier } from '../core/roles.ts';
import type { PeerResponse } from '../peer/protocol.ts';

const HEALTH_POLICY: HealthPolicy = { suspectAfterFailures: 2, downAfterFailures: 5, downAfterSilenceMs: 60_000 };

type Pong = Extract<PeerResponse, { kind: 'pong' }>;

export class HealthChecks {
  /** The local leader's health checks of its AZ's nodes. */
  private readonly health = new Map<string, HealthRecord>();
  /** Other AZs' local leaders, from this node's health checks of their nodes. */
  private readonly remoteLeaders = new Map<string, string>();

  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'az' | 'nowMs' | 'peers'>,
    private readonly twoTier: Pick<PkiTwoTier, 'isLocalLeader' | 'status'>,
    private readonly state: () => PkiStateQueries,
  ) {}

  async checkAzHealth(): Promise<void> {
    const members = (await this.state().nodes()).filter((n) => n.az === this.ctx.az && n.nodeId !== this.ctx.nodeId);
    await this.probe(members.map((n) => n.nodeId));
  }

  /** This node no longer checks its AZ (it does not lead it, nor the cluster). */
  forgetAzHealth(): void {
    this.health.clear();
  }

  /** The other AZs' nodes are pinged; their answers name each AZ's local leader. */
  async checkOtherAzs(): Promise<void> {
    const others = (await this.state().nodes()).filter((n) => n.az !== this.ctx.az);
    const leaders = new Map<string, string>();
    for (const [nodeId, pong] of await this.probe(others.map((n) => n.nodeId))) if (pong.localLeader) leaders.set(pong.az, nodeId);
    this.remoteLeaders.clear();
    for (const [az, id] of leaders) this.remoteLeaders.set(az, id);
  }

  /** This node no longer checks the other AZs (it leads neither its AZ nor the cluster). */
  forgetOtherAzs(): void {
    this.remoteLeaders.clear();
  }

  /** Pings nodes, records their health, and returns the answers. */
  private async probe(nodeIds: readonly string[]): Promise<Map<string, Pong>> {
    const now = this.ctx.nowMs();
    const answers = new Map<string, Pong>();
    await Promise.all(
      nodeIds.map(async (id) => {
        const r = await this.ctx.peers.call(id, { kind: 'ping' }).catch(() => null);
        if (r?.kind === 'pong') answers.set(id, r);
        this.health.set(id, recordProbe(this.health.get(id) ?? newHealthRecord(now), { ok: r?.kind === 'pong', nowMs: now }));
      }),
    );
    return answers;
  }

  /** Local leaders of other AZs as this node last saw them. */
  otherAzLeaders(): ReadonlyMap<string, string> {
    return this.remoteLeaders;
  }

  /** Health of a node of this AZ as its local leader sees it; null where this node does not check. */
  healthOf(nodeId: string): HealthState | null {
    if (nodeId === this.ctx.nodeId) return 'healthy';
    const r = this.health.get(nodeId);
    return r ? healthOf(r, this.ctx.nowMs(), HEALTH_POLICY) : null;
  }

  /** Whether a node of this AZ answered this local leader's latest ping (node/aging/). */
  answeredLastPing(nodeId: string): boolean {
    const r = this.health.get(nodeId);
    return r !== undefined && r.consecutiveFailures === 0 && r.lastSeenMs !== null;
  }

  /** The answer to a peer's `ping`. */
  pong(): Pong {
    return { kind: 'pong', nodeId: this.ctx.nodeId, az: this.ctx.az, localLeader: this.twoTier.isLocalLeader(), appliedSeq: this.twoTier.status().seq };
  }
}
