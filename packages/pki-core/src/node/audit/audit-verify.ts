// Verifying a node's history of one log (docs/architecture.md §18), with nothing but the entries'
// bytes and the cluster's roots: the chain is recomputed from the bytes, head' = SHA-256(head ‖
// bytes) (state/audit-chain.ts), and every signed checkpoint in it (state/audit-events.ts) must
// carry a valid signature under a certificate chain ending at one of the roots and attest exactly
// the head recomputed at its position. The first divergence, in position order, is the verdict.
import { verify as nodeVerify, X509Certificate } from 'node:crypto';
import { signatureAlgorithmForKey, signatureAlgorithmInfo } from '../../ca/algorithms.ts';
import { isPkiError } from '../../errors.ts';
import { AUDIT_GENESIS_HEAD, auditCheckpointSigningBytes, chainHash, type AuditLog } from '../../state/audit-chain.ts';
import type { AuditCheckpointEvent } from '../../state/audit-events.ts';
import { decodeEvent } from '../../state/event-codec.ts';

/** One entry as a node serves it (node/audit/audit-history.ts). */
export interface AuditHistoryEntry {
  readonly position: number;
  readonly prev: Uint8Array;
  readonly hash: Uint8Array;
  readonly bytes: Uint8Array;
}

export interface AuditHistoryInput {
  /** 'global' or the AZ name, for reports. */
  readonly log: string;
  readonly tier: AuditLog;
  /** For a local log: the AZ whose log it is (its checkpoints must be signed in that AZ). */
  readonly az: string;
  /** Every entry the node holds, in position order. */
  readonly entries: readonly AuditHistoryEntry[];
  /** The head the node reports now. */
  readonly head: { readonly position: number; readonly head: Uint8Array };
  /** The trusted roots (certificates) checkpoint signers must chain to. */
  readonly roots: readonly X509Certificate[];
}

export interface AuditDivergence {
  readonly log: string;
  readonly position: number;
  /** The event type of the command at `position` ('(undecodable)' when its bytes decode to no event). */
  readonly eventType: string;
  /** Hex: what the history or a checkpoint says the chain holds at `position`. */
  readonly expected: string;
  /** Hex: what the bytes recompute to (or what the entry says, for a broken link). */
  readonly found: string;
  readonly reason: string;
}

export interface AuditSummary {
  readonly log: string;
  /** First and last position verified (the history held here may start after 1: a snapshot). */
  readonly fromPosition: number;
  readonly toPosition: number;
  /** Signed checkpoints found valid and matching; their attested positions. */
  readonly checkpoints: readonly number[];
  /** Checkpoints attesting positions before the history held here (signature checked, head not). */
  readonly checkpointsBeforeHistory: number;
  readonly head: string;
}

export type AuditVerdict = { readonly ok: true; readonly summary: AuditSummary } | { readonly ok: false; readonly divergence: AuditDivergence };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

function eventTypeOf(bytes: Uint8Array): string {
  try {
    return decodeEvent(bytes).type;
  } catch (e) {
    if (isPkiError(e, 'ERR_EVENT_MALFORMED')) return '(undecodable)';
    throw e;
  }
}

/** Recomputes the chain of `input.entries` and checks every checkpoint in it. */
export function verifyAuditHistory(input: AuditHistoryInput): AuditVerdict {
  const { entries, log } = input;
  const first = entries[0];
  // Position 1 links to the genesis head; a history installed from a snapshot starts where it says.
  let prev = first === undefined || first.position === 1 ? AUDIT_GENESIS_HEAD : first.prev;
  const recomputed = new Map<number, { hash: Uint8Array; bytes: Uint8Array }>();
  const checkpoints: number[] = [];
  let checkpointsBeforeHistory = 0;
  const diverged = (position: number, bytes: Uint8Array | undefined, expected: Uint8Array, found: Uint8Array, reason: string): AuditVerdict => ({
    ok: false,
    divergence: { log, position, eventType: bytes === undefined ? '(not held)' : eventTypeOf(bytes), expected: hex(expected), found: hex(found), reason },
  });
  for (const [i, e] of entries.entries()) {
    const position = (first?.position ?? 1) + i;
    if (e.position !== position) return diverged(position, undefined, prev, prev, `the history skips from position ${position - 1} to ${e.position}`);
    if (!equalBytes(e.prev, prev)) return diverged(position, e.bytes, prev, e.prev, 'the entry does not link to the hash recomputed before it');
    const hash = chainHash(prev, e.bytes);
    if (!equalBytes(hash, e.hash)) return diverged(position, e.bytes, e.hash, hash, "the command's bytes do not hash to the chain recorded at this position");
    recomputed.set(position, { hash, bytes: e.bytes });
    prev = hash;
    const checkpoint = checkpointIn(e.bytes, input.tier);
    if (checkpoint === null) continue;
    const refusal = checkpointRefusal(checkpoint, input);
    if (refusal !== null) return diverged(position, e.bytes, checkpoint.head, checkpoint.head, `checkpoint signed by ${checkpoint.signerNodeId}: ${refusal}`);
    const at = recomputed.get(checkpoint.position);
    if (at === undefined) {
      checkpointsBeforeHistory++;
      continue;
    }
    if (!equalBytes(at.hash, checkpoint.head)) {
      return diverged(checkpoint.position, at.bytes, checkpoint.head, at.hash, `the checkpoint at position ${position}, signed by ${checkpoint.signerNodeId}, attests another head`);
    }
    checkpoints.push(checkpoint.position);
  }
  const last = entries.at(-1);
  if (last !== undefined && last.position === input.head.position && !equalBytes(prev, input.head.head)) {
    return diverged(last.position, last.bytes, input.head.head, prev, "the node's head is not the head its history recomputes to");
  }
  return {
    ok: true,
    summary: { log, fromPosition: first?.position ?? 0, toPosition: last?.position ?? 0, checkpoints, checkpointsBeforeHistory, head: hex(prev) },
  };
}

function checkpointIn(bytes: Uint8Array, tier: AuditLog): AuditCheckpointEvent | null {
  try {
    const event = decodeEvent(bytes);
    // A checkpoint of the other log would have been refused on apply (node/core/pki-application.ts).
    return event.type === 'AuditCheckpoint' && event.log === tier ? event : null;
  } catch (e) {
    if (isPkiError(e, 'ERR_EVENT_MALFORMED')) return null;
    throw e;
  }
}

/** Why a checkpoint's signature does not stand, or null when it does. */
function checkpointRefusal(c: AuditCheckpointEvent, input: AuditHistoryInput): string | null {
  if (input.tier === 'local' && c.az !== input.az) return `it names AZ ${c.az}, not ${input.az}`;
  let chain: X509Certificate[];
  try {
    chain = c.chainDer.map((der) => new X509Certificate(Buffer.from(der)));
  } catch {
    return 'its certificate chain does not parse';
  }
  const signer = chain[0]!;
  const atMs = c.at;
  if (atMs < Date.parse(signer.validFrom) || atMs > Date.parse(signer.validTo)) return "it was signed outside its certificate's validity";
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i]!.checkIssued(chain[i + 1]!) || !chain[i]!.verify(chain[i + 1]!.publicKey)) return `certificate ${i} of its chain is not signed by certificate ${i + 1}`;
  }
  const top = chain.at(-1)!;
  if (!input.roots.some((root) => top.checkIssued(root) && top.verify(root.publicKey))) return 'its certificate chain does not lead to a trusted root';
  const digest = signatureAlgorithmInfo(signatureAlgorithmForKey(signer.publicKey)).nodeDigest;
  return nodeVerify(digest, auditCheckpointSigningBytes(c), signer.publicKey, c.signature) ? null : 'the signature does not verify';
}
