// The snapshot format: every table's entries in key order, in the fixed table order, as plain
// MessagePack, sealed with a SHA-256 of the body. Equal states give identical bytes, which
// makes snapshots comparable across replicas (testkit's state-machine safety check) and lets
// Raft ship them as opaque `Snapshot.data` (InstallSnapshot, Raft §7).
import { createHash } from 'node:crypto';
import { plainMessagePack } from '@adrestia/consensus';
import { PkiError } from '../errors.ts';
import { isPlainObject } from './fields.ts';
import { decodeRecord, TABLE_NAMES, TABLES_OMITTED_WHEN_EMPTY, type MetaRecords, type TableName } from './tables.ts';

const SNAPSHOT_FORMAT = 'adrestia-pki-state';
const SNAPSHOT_FORMAT_VERSION = 1;

type TableEntries = [string, Uint8Array][];
export type SnapshotTables = Map<TableName, TableEntries>;

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function encodeSnapshot(tables: SnapshotTables): Uint8Array {
  const listed = TABLE_NAMES.filter((name) => !TABLES_OMITTED_WHEN_EMPTY.has(name) || (tables.get(name)?.length ?? 0) > 0);
  const body = new Uint8Array(plainMessagePack.pack(listed.map((name) => [name, tables.get(name) ?? []])));
  return new Uint8Array(plainMessagePack.pack({ format: SNAPSHOT_FORMAT, v: SNAPSHOT_FORMAT_VERSION, sha256: sha256Hex(body), body }));
}

function corrupt(message: string, cause?: unknown): PkiError {
  return new PkiError('ERR_INPUT_INVALID', `invalid state snapshot: ${message}`, cause === undefined ? undefined : { cause });
}

function readEntries(name: string, value: unknown): TableEntries {
  if (!Array.isArray(value)) throw corrupt(`table ${name} is not a list`);
  let previous: string | undefined;
  return value.map((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length !== 2) throw corrupt(`table ${name}: bad entry`);
    const [key, val] = entry as unknown[];
    // eslint-disable-next-line no-control-regex -- a key is any ASCII string, NUL included (state/txn.ts)
    if (typeof key !== 'string' || !/^[\x00-\x7f]+$/.test(key)) throw corrupt(`table ${name}: bad key`);
    if (!(val instanceof Uint8Array)) throw corrupt(`table ${name}: bad value`);
    // Strict key order: a snapshot we wrote is sorted and duplicate-free.
    if (previous !== undefined && !(previous < key)) throw corrupt(`table ${name}: keys out of order`);
    previous = key;
    return [key, new Uint8Array(val)];
  });
}

/** Checks a snapshot completely before anything is replaced; throws ERR_INPUT_INVALID. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotTables {
  let outer: unknown;
  try {
    outer = plainMessagePack.unpack(bytes);
  } catch (e) {
    throw corrupt('not MessagePack', e);
  }
  if (!isPlainObject(outer) || outer['format'] !== SNAPSHOT_FORMAT) throw corrupt('unknown format');
  if (outer['v'] !== SNAPSHOT_FORMAT_VERSION) throw corrupt(`unsupported version ${String(outer['v'])}`);
  const body = outer['body'];
  if (!(body instanceof Uint8Array) || outer['sha256'] !== sha256Hex(body)) throw corrupt('checksum mismatch');
  let list: unknown;
  try {
    list = plainMessagePack.unpack(body);
  } catch (e) {
    throw corrupt('body is not MessagePack', e);
  }
  if (!Array.isArray(list) || list.length > TABLE_NAMES.length) throw corrupt('wrong table list');
  const tables: SnapshotTables = new Map();
  // The tables in TABLE_NAMES order; only those of TABLES_OMITTED_WHEN_EMPTY may be missing.
  let next = 0;
  for (const name of TABLE_NAMES) {
    const item: unknown = list[next];
    if (Array.isArray(item) && item.length === 2 && item[0] === name) {
      tables.set(name, readEntries(name, item[1]));
      next++;
    } else if (TABLES_OMITTED_WHEN_EMPTY.has(name)) {
      tables.set(name, []);
    } else {
      throw corrupt(`table ${next} misnamed`);
    }
  }
  if (next !== list.length) throw corrupt('wrong table list');
  return tables;
}

/** The applied index a decoded snapshot holds (0 for an empty state). */
export function snapshotAppliedIndex(tables: SnapshotTables): number {
  const entry = tables.get('meta')?.find(([key]) => key === 'applied');
  return entry === undefined ? 0 : appliedIndexOfRecord(entry[1]);
}

/** The index in a `meta`/`applied` record of a snapshot; throws ERR_INPUT_INVALID. */
export function appliedIndexOfRecord(bytes: Uint8Array): number {
  let applied: MetaRecords['applied'] | undefined;
  try {
    applied = decodeRecord<MetaRecords['applied']>(bytes);
  } catch (e) {
    throw corrupt('bad applied record', e);
  }
  if (typeof applied?.index !== 'number' || !Number.isSafeInteger(applied.index)) throw corrupt('bad applied index');
  return applied.index;
}
