// This node's history of the logs it applies (state/audit-chain.ts), a page at a time: the global
// log, and its own AZ's local log — the only local log a node holds. The history is this node's
// own record (table `audit`, never in a snapshot): it starts after the snapshot a node last
// installed, so a page says where the history held here begins.
import { isPkiError, PkiError } from '../../errors.ts';
import { decodeEvent } from '../../state/event-codec.ts';
import type { AuditCheckpointRecord, AuditEntryRecord, AuditHeadRecord, AuditLog } from '../../state/audit-chain.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { NodeContext } from '../core/context.ts';

/** The most entries one page carries. */
export const AUDIT_PAGE_ENTRIES_MAX = 1000;
/** The command bytes one page carries at most (an entry may hold a CRL of megabytes); a page holds one entry at least. */
const AUDIT_PAGE_BYTES_MAX = 16 * 1024 * 1024;

export interface AuditPage {
  /** 'global', or the AZ whose local log this is. */
  readonly log: string;
  readonly tier: AuditLog;
  /** The AZ of the node answering (whose local log it holds). */
  readonly az: string;
  /** The chain head here now. */
  readonly head: AuditHeadRecord;
  /** The first position this node holds (the history before it was installed as a snapshot); head.position + 1 when none. */
  readonly firstHeldPosition: number;
  /** The latest checkpoint this node applied, if any. */
  readonly checkpoint: AuditCheckpointRecord | null;
  /** Entries after `since`, in position order, at most `limit` and about AUDIT_PAGE_BYTES_MAX of commands. */
  readonly entries: readonly AuditEntryRecord[];
  /** Where the next page starts (its `since`), while the head is further on; null at the head. */
  readonly next: number | null;
}

export class AuditHistory {
  constructor(
    private readonly ctx: Pick<NodeContext, 'az'>,
    private readonly state: () => PkiStateQueries,
  ) {}

  /**
   * Entries of `log` ('global' or this node's AZ) after position `since`. ERR_INPUT_INVALID names
   * the argument out of bounds; another AZ's log is ERR_WRONG_AZ (a node of that AZ holds it).
   */
  async page(log: string, since: number, limit: number): Promise<AuditPage> {
    const tier = this.tierOf(log);
    if (!Number.isSafeInteger(since) || since < 0) throw new PkiError('ERR_INPUT_INVALID', 'since: a position, 0 or more', { field: 'since' });
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_PAGE_ENTRIES_MAX) {
      throw new PkiError('ERR_INPUT_INVALID', `limit: 1..${AUDIT_PAGE_ENTRIES_MAX} entries`, { field: 'limit' });
    }
    const store = this.state();
    const head = await store.auditHead(tier);
    const [first] = await store.auditEntries(tier, 1, 1);
    const entries = withinBytes(await store.auditEntries(tier, since + 1, limit));
    const last = entries.at(-1);
    const next = last !== undefined && last.position < head.position ? last.position : null;
    return { log, tier, az: this.ctx.az, head, firstHeldPosition: first?.position ?? head.position + 1, checkpoint: (await store.auditCheckpoint(tier)) ?? null, entries, next };
  }

  private tierOf(log: string): AuditLog {
    if (log === 'global') return 'global';
    if (log === this.ctx.az) return 'local';
    if (log === '') throw new PkiError('ERR_INPUT_INVALID', "log: 'global' or an AZ name", { field: 'log' });
    throw new PkiError('ERR_WRONG_AZ', `log: this node holds the global log and AZ ${this.ctx.az}'s local log, not ${log}'s: ask a node of AZ ${log}`, { field: 'log' });
  }
}

/** The first entries whose commands fit AUDIT_PAGE_BYTES_MAX, one at least. */
function withinBytes(entries: AuditEntryRecord[]): AuditEntryRecord[] {
  let bytes = 0;
  for (const [i, e] of entries.entries()) {
    bytes += e.bytes.byteLength;
    if (i > 0 && bytes > AUDIT_PAGE_BYTES_MAX) return entries.slice(0, i);
  }
  return entries;
}

/** The event's type and its scalar fields (certificates, CRLs and keys are in `bytes`). */
export function auditEventSummary(bytes: Uint8Array): { type: string; summary: Record<string, unknown> } {
  try {
    const event = decodeEvent(bytes);
    const summary: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(event)) {
      if (key === 'type') continue;
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') summary[key] = value;
      else if (value instanceof Uint8Array && key === 'head') summary[key] = Buffer.from(value).toString('hex');
    }
    return { type: event.type, summary };
  } catch (e) {
    if (!isPkiError(e, 'ERR_EVENT_MALFORMED')) throw e;
    return { type: '(undecodable)', summary: { error: e.message } };
  }
}
