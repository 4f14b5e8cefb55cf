// One AZ of a cluster being restored from a backup, on the node that founds it (restore-plan.ts
// says what is committed, in which order and why), and the global leader's check of the CAs a
// restoring founder hands it with `foundAz`.
import { unwrapPrivateKey } from '../../ca/key-wrap.ts';
import { PkiError } from '../../errors.ts';
import { decodeEvent } from '../../state/event-codec.ts';
import type { AzSpec, CaCertificateInstalledEvent, PkiEvent } from '../../state/events.ts';
import type { ApplyOutcome } from '../../state/outcome.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { ClusterBackup } from '../admin/backup-file.ts';
import { checkAzMatches } from '../admin/az-spec.ts';
import { caKeyBinding } from '../ca/ca-common.ts';
import type { Committer } from '../core/committer.ts';
import { azCaRestoreEvents, azCaRevocationEvents, azLocalRestoreEvents, backupStateOf, clusterRestoreEvents } from './restore-plan.ts';

/** Far more CA certificates than one AZ gathers in its life (renewals included): a bound on a peer's list. */
const RESTORED_CAS_MAX = 4096;

export interface RestoreContext {
  readonly committer: Committer;
  readonly state: () => PkiStateQueries;
  readonly waitFor: <T>(what: string, check: () => Promise<T | null | undefined | false>) => Promise<T>;
}

export class RestoredAz {
  private constructor(
    private readonly backup: ClusterBackup,
    private readonly az: string,
    private readonly saved: PkiStateQueries,
  ) {}

  /** ERR_INPUT_INVALID (field `backup`) when the backup holds no state of `az`. */
  static async open(backup: ClusterBackup, az: string): Promise<RestoredAz> {
    return new RestoredAz(backup, az, await backupStateOf(backup, az));
  }

  /** The cluster founder's first events; its configured AZ must be the backed-up one (ERR_AZ_MISMATCH). */
  async clusterEvents(azSpec: AzSpec, nowMs: number): Promise<PkiEvent[]> {
    const saved = await this.saved.getAz(this.az);
    if (saved === undefined) throw new PkiError('ERR_INPUT_INVALID', `the backup holds no AZ ${this.az}`, { field: 'backup' });
    if (azSpec.subnets.length > 0) checkAzMatches(saved, azSpec);
    return clusterRestoreEvents(this.saved, this.backup, this.az, nowMs);
  }

  caEvents(): Promise<CaCertificateInstalledEvent[]> {
    return azCaRestoreEvents(this.saved, this.az);
  }

  /**
   * Steps 2 and 3 of restore-plan.ts, once this node applied the AZ's restored CAs (the global
   * log reaches a new AZ after its founder started). A retried restore finds what it committed.
   */
  async commitLocal(ctx: RestoreContext): Promise<void> {
    const events = await azLocalRestoreEvents(this.saved, this.az);
    const issuers = [...new Set(events.map((e) => e.issuerId))];
    await ctx.waitFor(`the restored CAs of AZ ${this.az}`, async () => {
      for (const id of issuers) if ((await ctx.state().getCa(id)) === undefined) return false;
      return true;
    });
    for (const event of events) {
      if (event.type === 'CrlPublished' && ((await ctx.state().latestCrl(event.issuerId))?.crlNumber ?? 0) >= event.crlNumber) continue;
      requireDone(await ctx.committer.commitRetrying(event, 'local'), event, 'ERR_SERIAL_REUSED');
    }
    for (const event of await azCaRevocationEvents(this.saved, this.az)) {
      requireDone(await ctx.committer.commitRetrying(event, 'global'), event, 'ERR_ALREADY_REVOKED');
    }
  }
}

/** Accepted, or refused only because an earlier attempt of the restore committed it. */
function requireDone(outcome: ApplyOutcome, event: PkiEvent, alreadyCode: string): void {
  if (!outcome.ok && outcome.error.code !== alreadyCode) throw new PkiError(outcome.error.code, `restoring ${event.type}: ${outcome.error.message}`);
}

/**
 * On the global leader: the CAs a restoring founder sent for AZ `az` — each a CA certificate of
 * that AZ, and each AZ ICA's key opening under this cluster's KEK, so only a backup of this
 * cluster can be restored (the state machine then checks the hierarchy, apply-certs.ts).
 */
export function restoredCaEvents(encoded: readonly Uint8Array[], az: string, kek: Uint8Array): CaCertificateInstalledEvent[] {
  if (encoded.length > RESTORED_CAS_MAX) throw new PkiError('ERR_INPUT_INVALID', `at most ${RESTORED_CAS_MAX} restored CAs`, { field: 'restoredCas' });
  return encoded.map((bytes) => {
    const event = decodeEvent(bytes);
    if (event.type !== 'CaCertificateInstalled' || event.az !== az || event.role === 'root') {
      throw new PkiError('ERR_INPUT_INVALID', `a restored CA must be a CA certificate of AZ ${az}`, { field: 'restoredCas' });
    }
    if (event.role === 'az') {
      if (event.wrappedKey === undefined) throw new PkiError('ERR_INPUT_INVALID', `restored AZ ICA ${event.issuerId} has no key`, { field: 'restoredCas' });
      unwrapPrivateKey(event.wrappedKey, kek, caKeyBinding('az', event.issuerId));
    }
    return event;
  });
}
