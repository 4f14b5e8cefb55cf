// The tamper-evident history of the two logs a node applies (docs/architecture.md §18): every
// command of a log extends that log's hash chain, head' = SHA-256(head ‖ command bytes), starting
// from 32 zero bytes. The command bytes are those the log committed, so every replica of the log
// (every node for the global log, the AZ's nodes for its local log) computes the same chain. The
// head is replicated state (table `meta`, so snapshots carry it); each command's entry — its
// bytes with the hash before and after it — is kept in table `audit`, which is this node's own
// record and never leaves it in a snapshot (store.ts). One SHA-256 per applied command.
//
// Signed checkpoints (audit-events.ts, docs/architecture.md §18) attest a head at a position; a
// verifier that recomputes the chain from the commands' bytes checks each against its own result.
import { createHash } from 'node:crypto';
import { plainMessagePack } from '@adrestia/consensus';
import type { AuditCheckpointEvent } from './audit-events.ts';
import { reject, type ApplyResult } from './outcome.ts';
import type { AuditCheckpointRecord, AuditEntryRecord, AuditHeadRecord, AuditLog } from './records.ts';
import type { StateTxn } from './txn.ts';

export type { AuditCheckpointRecord, AuditEntryRecord, AuditHeadRecord, AuditLog };

const AUDIT_HASH_BYTES = 32;
export const AUDIT_GENESIS_HEAD: Uint8Array = new Uint8Array(AUDIT_HASH_BYTES);

const HEAD_KEY = { global: 'auditGlobal', local: 'auditLocal' } as const satisfies Record<AuditLog, string>;

export function auditHeadKey(log: AuditLog): (typeof HEAD_KEY)[AuditLog] {
  return HEAD_KEY[log];
}

const CHECKPOINT_KEY = { global: 'auditCheckpointGlobal', local: 'auditCheckpointLocal' } as const satisfies Record<AuditLog, string>;

export function auditCheckpointKey(log: AuditLog): (typeof CHECKPOINT_KEY)[AuditLog] {
  return CHECKPOINT_KEY[log];
}

/** Separates checkpoint signatures from every other use of a node ICA key. */
const CHECKPOINT_SIGNING_CONTEXT = 'adrestia-pki audit checkpoint v1';

/**
 * What a checkpoint's signature covers: a MessagePack array (fixed order and types, so one byte
 * string per checkpoint) of the context string and every field but the certificates and the
 * signature itself.
 */
export function auditCheckpointSigningBytes(c: Pick<AuditCheckpointEvent, 'log' | 'az' | 'position' | 'head' | 'signerNodeId' | 'at'>): Uint8Array {
  return new Uint8Array(plainMessagePack.pack([CHECKPOINT_SIGNING_CONTEXT, c.log, c.az, c.position, c.head, c.signerNodeId, c.at]));
}

/** head' = SHA-256(head ‖ bytes). */
export function chainHash(head: Uint8Array, bytes: Uint8Array): Uint8Array {
  if (head.byteLength !== AUDIT_HASH_BYTES) throw new TypeError(`a chain head is ${AUDIT_HASH_BYTES} bytes`);
  return new Uint8Array(createHash('sha256').update(head).update(bytes).digest());
}

/** `audit` keys: the log, NUL, the position as 16 hex digits (string order is position order). */
export function auditEntryKey(log: AuditLog, position: number): string {
  return `${log}\x00${position.toString(16).padStart(16, '0')}`;
}

/**
 * Each command forgets at most this many entries of its log's history: twice what it adds, so a
 * backlog (a retention just lowered, a first checkpoint) drains while each apply stays bounded.
 */
const AUDIT_ENTRIES_FORGOTTEN_PER_COMMAND_MAX = 2;

/**
 * Appends one applied command to its log's chain and history, in the batch that applies it. With
 * `retainEntriesMax`, entries more than that many positions before the latest checkpoint are
 * forgotten: a verifier then starts from the first entry held, which a later checkpoint anchors.
 */
export async function extendAuditChain(tx: StateTxn, log: AuditLog, seq: number, bytes: Uint8Array, retainEntriesMax?: number): Promise<AuditHeadRecord> {
  const last = (await tx.getMeta(auditHeadKey(log))) ?? { position: 0, head: AUDIT_GENESIS_HEAD };
  const next: AuditHeadRecord = { position: last.position + 1, head: chainHash(last.head, bytes) };
  tx.putMeta(auditHeadKey(log), next);
  tx.put('audit', auditEntryKey(log, next.position), { position: next.position, seq, prev: last.head, hash: next.head, bytes });
  if (retainEntriesMax !== undefined) await forgetCheckpointedEntries(tx, log, retainEntriesMax);
  return next;
}

async function forgetCheckpointedEntries(tx: StateTxn, log: AuditLog, retainEntriesMax: number): Promise<void> {
  const checkpoint = await tx.getMeta(auditCheckpointKey(log));
  const lastForgotten = checkpoint === undefined ? 0 : checkpoint.position - retainEntriesMax;
  if (lastForgotten < 1) return;
  const old = await tx.range('audit', { gte: auditEntryKey(log, 0), lt: auditEntryKey(log, lastForgotten + 1), limit: AUDIT_ENTRIES_FORGOTTEN_PER_COMMAND_MAX });
  for (const [key] of old) tx.del('audit', key);
}

/**
 * A checkpoint attests a position its log already holds, later than the last one accepted. Its
 * signature and head are the verifier's to check (node/audit/audit-verify.ts): the history before
 * the head is node-local (table `audit`), so apply cannot recompute an earlier head.
 */
export async function applyAuditCheckpoint(tx: StateTxn, ev: AuditCheckpointEvent): Promise<ApplyResult> {
  const head = (await tx.getMeta(auditHeadKey(ev.log))) ?? { position: 0, head: AUDIT_GENESIS_HEAD };
  if (ev.position > head.position) reject('ERR_INPUT_INVALID', `checkpoint of position ${ev.position}: the ${ev.log} log holds ${head.position} commands`);
  const last = await tx.getMeta(auditCheckpointKey(ev.log));
  if (last !== undefined && ev.position <= last.position) reject('ERR_ALREADY_EXISTS', `the ${ev.log} log is checkpointed at ${last.position} already`);
  // This command is the next in the chain (store.ts extends the chain after applying it).
  const record: AuditCheckpointRecord = { position: ev.position, eventPosition: head.position + 1, at: ev.at };
  tx.putMeta(auditCheckpointKey(ev.log), record);
  return { type: ev.type };
}
