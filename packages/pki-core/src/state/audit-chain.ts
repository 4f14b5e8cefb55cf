// The tamper-evident history of the two logs a node applies (docs/architecture.md §16): every
// command of a log extends that log's hash chain, head' = SHA-256(head ‖ command bytes), starting
// from 32 zero bytes. The command bytes are those the log committed, so every replica of the log
// (every node for the global log, the AZ's nodes for its local log) computes the same chain. The
// head is replicated state (table `meta`, so snapshots carry it); each command's entry — its
// bytes with the hash before and after it — is kept in table `audit`, which is this node's own
// record and never leaves it in a snapshot (store.ts). One SHA-256 per applied command.
import { createHash } from 'node:crypto';
import type { AuditEntryRecord, AuditHeadRecord, AuditLog } from './records.ts';
import type { StateTxn } from './txn.ts';

export type { AuditEntryRecord, AuditHeadRecord, AuditLog };

const AUDIT_HASH_BYTES = 32;
export const AUDIT_GENESIS_HEAD: Uint8Array = new Uint8Array(AUDIT_HASH_BYTES);

const HEAD_KEY = { global: 'auditGlobal', local: 'auditLocal' } as const satisfies Record<AuditLog, string>;

export function auditHeadKey(log: AuditLog): (typeof HEAD_KEY)[AuditLog] {
  return HEAD_KEY[log];
}

/** head' = SHA-256(head ‖ bytes). */
function chainHash(head: Uint8Array, bytes: Uint8Array): Uint8Array {
  if (head.byteLength !== AUDIT_HASH_BYTES) throw new TypeError(`a chain head is ${AUDIT_HASH_BYTES} bytes`);
  return new Uint8Array(createHash('sha256').update(head).update(bytes).digest());
}

/** `audit` keys: the log, NUL, the position as 16 hex digits (string order is position order). */
export function auditEntryKey(log: AuditLog, position: number): string {
  return `${log}\x00${position.toString(16).padStart(16, '0')}`;
}

/** Appends one applied command to its log's chain and history, in the batch that applies it. */
export async function extendAuditChain(tx: StateTxn, log: AuditLog, seq: number, bytes: Uint8Array): Promise<AuditHeadRecord> {
  const last = (await tx.getMeta(auditHeadKey(log))) ?? { position: 0, head: AUDIT_GENESIS_HEAD };
  const next: AuditHeadRecord = { position: last.position + 1, head: chainHash(last.head, bytes) };
  tx.putMeta(auditHeadKey(log), next);
  tx.put('audit', auditEntryKey(log, next.position), { position: next.position, seq, prev: last.head, hash: next.head, bytes });
  return next;
}
