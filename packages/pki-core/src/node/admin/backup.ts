// `adrestia-pki cluster backup` on the node that answers it (backup-file.ts has the format): the
// state snapshot of every founded AZ, each read through that AZ at a linearizable point (Raft
// thesis §6.4 ReadIndex on the AZ's local group, core/read-view.ts), so whatever any AZ
// acknowledged before the backup began is in it. This node's own AZ is read here; every other AZ
// is asked over the peer protocol (`stateSnapshot`), its local leader first, then its other nodes.
import { PkiError } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeContext } from '../core/context.ts';
import type { ReadView } from '../core/read-view.ts';
import type { PeerResponse } from '../peer/protocol.ts';
import { encodeBackup, type AzStateSnapshot } from './backup-file.ts';

export class ClusterBackups {
  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'peers' | 'nowMs'>,
    private readonly reads: ReadView,
    /** The state as this node applied it, as snapshot bytes (state/store.ts `snapshot`). */
    private readonly snapshotState: () => Promise<Uint8Array>,
    /** Other AZs' local leaders as this node's health checks last saw them (membership/). */
    private readonly otherAzLeaders: () => ReadonlyMap<string, string>,
  ) {}

  /** The backup file's bytes; ERR_TIMEOUT naming the AZ when no node of a founded AZ answers. */
  async takeBackup(): Promise<Uint8Array> {
    const own = await this.ownSnapshot();
    const store = own.store;
    const cluster = await store.cluster();
    if (cluster === undefined) throw new PkiError('ERR_NOT_READY', 'this node holds no cluster yet; retry');
    // A declared AZ has no local group yet: the global state, in every snapshot, holds all of it.
    const founded = (await store.azs()).filter((a) => a.phase === 'active' && a.name !== this.ctx.az);
    const snapshots: AzStateSnapshot[] = [{ az: this.ctx.az, snapshot: own.snapshot }];
    for (const az of founded) snapshots.push({ az: az.name, snapshot: await this.askAz(store, az.name) });
    return encodeBackup({ clusterId: cluster.clusterId, takenAt: this.ctx.nowMs(), azs: snapshots });
  }

  /** A peer's `stateSnapshot`: this AZ's state after a linearizable read here. */
  async answerSnapshot(): Promise<PeerResponse> {
    return { kind: 'stateSnapshot', az: this.ctx.az, snapshot: (await this.ownSnapshot()).snapshot };
  }

  private async ownSnapshot(): Promise<{ store: PkiStateQueries; snapshot: Uint8Array }> {
    const store = await this.reads.linearizable();
    return { store, snapshot: await this.snapshotState() };
  }

  private async askAz(store: PkiStateQueries, az: string): Promise<Uint8Array> {
    const leader = this.otherAzLeaders().get(az);
    const members = (await store.nodes()).filter((n) => n.az === az).map((n) => n.nodeId);
    let lastError: unknown;
    for (const nodeId of new Set([...(leader === undefined ? [] : [leader]), ...members])) {
      try {
        const answer = await this.ctx.peers.call(nodeId, { kind: 'stateSnapshot' });
        if (answer.kind === 'stateSnapshot' && answer.az === az) return answer.snapshot;
        lastError = new Error(answer.kind === 'error' ? `${nodeId}: ${answer.code} ${answer.message}` : `${nodeId} answered ${answer.kind}`);
      } catch (e) {
        lastError = e;
      }
    }
    throw new PkiError('ERR_TIMEOUT', `no node of AZ ${az} gave its state for the backup; retry`, { cause: lastError });
  }
}
