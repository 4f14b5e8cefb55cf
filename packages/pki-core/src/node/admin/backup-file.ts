// The cluster backup file (`adrestia-pki cluster backup`, docs/architecture.md "Backup, restore
// and rebuilding an AZ"): one state snapshot per AZ (state/snapshot.ts: the global state plus that
// AZ's local state, as that AZ applies them), each read at a linearizable point of its AZ. Plain
// MessagePack with a format name, a version and a SHA-256 of the body; decoding checks all of it,
// and every snapshot inside, before a caller uses anything. Wrapped root and AZ ICA keys stay
// wrapped (they are in the state so); node ICA keys are never in the state, so never here.
import { createHash } from 'node:crypto';
import { plainMessagePack } from '@adrestia/consensus';
import { PkiError } from '../../errors.ts';
import { isPlainObject } from '../../state/fields.ts';
import { decodeSnapshot } from '../../state/snapshot.ts';

const BACKUP_FORMAT = 'adrestia-pki-backup';
const BACKUP_FORMAT_VERSION = 1;
/** More AZs than any cluster has (AZ names are few by design): a bound on what decoding accepts. */
const BACKUP_AZS_MAX = 64;

export interface AzStateSnapshot {
  readonly az: string;
  /** The AZ's state snapshot bytes (state/snapshot.ts encodeSnapshot). */
  readonly snapshot: Uint8Array;
}

export interface ClusterBackup {
  readonly clusterId: string;
  /** When the backup was taken (ms since the epoch, the answering node's clock). */
  readonly takenAt: number;
  /** One per AZ that has a local group, in AZ name order. */
  readonly azs: readonly AzStateSnapshot[];
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function encodeBackup(backup: ClusterBackup): Uint8Array {
  const azs = [...backup.azs].sort((a, b) => (a.az < b.az ? -1 : a.az > b.az ? 1 : 0));
  const body = new Uint8Array(
    plainMessagePack.pack({ clusterId: backup.clusterId, takenAt: backup.takenAt, azs: azs.map((a) => [a.az, a.snapshot]) }),
  );
  return new Uint8Array(plainMessagePack.pack({ format: BACKUP_FORMAT, v: BACKUP_FORMAT_VERSION, sha256: sha256Hex(body), body }));
}

function invalid(message: string, cause?: unknown): PkiError {
  return new PkiError('ERR_INPUT_INVALID', `invalid backup file: ${message}`, { field: 'backup', ...(cause === undefined ? {} : { cause }) });
}

function unpack(bytes: Uint8Array, what: string): unknown {
  try {
    return plainMessagePack.unpack(bytes);
  } catch (e) {
    throw invalid(`${what} is not MessagePack (truncated?)`, e);
  }
}

/** Checks the whole file (format, version, checksum, every AZ snapshot); ERR_INPUT_INVALID, field `backup`. */
export function decodeBackup(bytes: Uint8Array): ClusterBackup {
  const outer = unpack(bytes, 'the file');
  if (!isPlainObject(outer) || outer['format'] !== BACKUP_FORMAT) throw invalid('not an Adrestia PKI backup');
  if (outer['v'] !== BACKUP_FORMAT_VERSION) throw invalid(`unsupported format version ${String(outer['v'])} (this build reads ${BACKUP_FORMAT_VERSION})`);
  const body = outer['body'];
  if (!(body instanceof Uint8Array) || outer['sha256'] !== sha256Hex(body)) throw invalid('SHA-256 checksum mismatch');
  const inner = unpack(body, 'the body');
  if (!isPlainObject(inner)) throw invalid('the body is not a map');
  const { clusterId, takenAt, azs } = inner;
  if (typeof clusterId !== 'string' || clusterId === '') throw invalid('no cluster id');
  if (typeof takenAt !== 'number' || !Number.isSafeInteger(takenAt)) throw invalid('no time taken');
  if (!Array.isArray(azs) || azs.length === 0 || azs.length > BACKUP_AZS_MAX) throw invalid(`1..${BACKUP_AZS_MAX} AZ snapshots expected`);
  const seen = new Set<string>();
  const snapshots = azs.map((entry: unknown): AzStateSnapshot => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || !(entry[1] instanceof Uint8Array)) throw invalid('bad AZ entry');
    const [az, snapshot] = entry as [string, Uint8Array];
    if (seen.has(az)) throw invalid(`AZ ${az} appears twice`);
    seen.add(az);
    try {
      decodeSnapshot(snapshot);
    } catch (e) {
      throw invalid(`the snapshot of AZ ${az}: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    return { az, snapshot: new Uint8Array(snapshot) };
  });
  return { clusterId, takenAt, azs: snapshots };
}
