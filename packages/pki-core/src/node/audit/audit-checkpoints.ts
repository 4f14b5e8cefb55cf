// Signed checkpoints of the audit chains (state/audit-events.ts, docs/architecture.md §18). A node
// knows the global log and its own AZ's local log only, so each log is checkpointed by the one
// node that leads it: the global leader signs the global chain's head into the global log, each
// AZ's local leader its local chain's head into its local log. The signature is made here, before
// proposing, with the node ICA key (ca/own-ca.ts); apply only checks the position is new and held.
import { auditCheckpointSigningBytes, type AuditLog } from '../../state/audit-chain.ts';
import type { AuditCheckpointEvent } from '../../state/audit-events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';

/** When a log is checkpointed again: after this long, or after this many commands, whichever comes first. */
export interface AuditCheckpointPolicy {
  readonly checkpointEverySeconds: number;
  readonly checkpointEveryCommands: number;
}

export const DEFAULT_AUDIT_CHECKPOINT_POLICY: AuditCheckpointPolicy = { checkpointEverySeconds: 300, checkpointEveryCommands: 1000 };

/** A TypeError naming the option out of bounds (PkiNodeOptions.audit). */
export function checkAuditCheckpointPolicy(p: AuditCheckpointPolicy): void {
  for (const key of ['checkpointEverySeconds', 'checkpointEveryCommands'] as const) {
    const v = p[key];
    if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`PkiNodeOptions.audit.${key} must be a positive integer`);
  }
}

export class AuditCheckpoints {
  private readonly uncheckpointedSinceMs = new Map<AuditLog, number>();

  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'nodeId' | 'nowMs'>,
    private readonly roles: RoleView,
    private readonly state: () => PkiStateQueries,
    private readonly ownCa: OwnCa,
    private readonly committer: Committer,
    private readonly policy: AuditCheckpointPolicy,
    maintenance: MaintenanceRegistry,
  ) {
    maintenance.add({ name: 'local audit checkpoint', run: async () => void (this.roles.hasLocalLease() && (await this.maybeCheckpoint('local'))) });
    maintenance.add({ name: 'global audit checkpoint', run: async () => void (this.roles.isGlobalLeader() && (await this.maybeCheckpoint('global'))) });
  }

  /** Checkpoints `log` when it is due; whether it proposed one. */
  async maybeCheckpoint(log: AuditLog): Promise<boolean> {
    const store = this.state();
    const head = await store.auditHead(log);
    const last = await store.auditCheckpoint(log);
    const nowMs = this.ctx.nowMs();
    // Only commands after the last checkpoint are news: a checkpoint alone is not checkpointed again.
    if (head.position <= (last?.eventPosition ?? 0)) return false;
    const dueByCount = head.position - (last?.position ?? 0) >= this.policy.checkpointEveryCommands;
    // A log never checkpointed counts its time from when this node first saw it uncheckpointed.
    const sinceMs = last?.at ?? this.firstSeenUncheckpointedMs(log, nowMs);
    const dueByTime = nowMs - sinceMs >= this.policy.checkpointEverySeconds * 1000;
    if (!dueByCount && !dueByTime) return false;
    const event = await this.signed(log, head.position, head.head, nowMs);
    if (event === null) return false;
    // A rejection (another checkpoint of this position got in first) is every replica's answer: nothing to do.
    return (await this.committer.commit(event, log)).ok;
  }

  private firstSeenUncheckpointedMs(log: AuditLog, nowMs: number): number {
    const seen = this.uncheckpointedSinceMs.get(log);
    if (seen !== undefined) return seen;
    this.uncheckpointedSinceMs.set(log, nowMs);
    return nowMs;
  }

  private async signed(log: AuditLog, position: number, head: Uint8Array, at: number): Promise<AuditCheckpointEvent | null> {
    const own = await this.ownCa.record();
    // Before its registration is applied the node has no certificate to sign under; a later round will.
    if (own === undefined || own.parentIssuerId === null || own.revokedAt !== null) return null;
    const parent = await this.state().getCa(own.parentIssuerId);
    if (parent === undefined) return null;
    const { signer } = await this.ownCa.signer();
    const fields = { log, az: this.ctx.az, position, head, signerNodeId: this.ctx.nodeId, at };
    const signature = await signer.sign(auditCheckpointSigningBytes(fields));
    return { type: 'AuditCheckpoint', ...fields, chainDer: [own.certDer, parent.certDer], signature };
  }
}
