// The chunked snapshot format (Raft §7, Figure 13: InstallSnapshot in pieces with offset/done):
// the whole state as a sequence of self-delimiting chunks, each at most about `chunkBytesMax`,
// so neither the sender nor the receiver ever holds more than one chunk. A chunk is plain
// MessagePack `{ format, v, n, entries, done, count?, sha256? }` where `entries` are
// `[table, key, value]` triples in the backend's consistent iteration order (backend.ts
// `entries()`); the last chunk (`done`) carries the entry count and a SHA-256 over every chunk's
// entries. Tables travel by name, so a table added later needs no format change. Chunk
// boundaries depend only on the entries, so equal states give identical chunks on every replica.
import { createHash, type Hash } from 'node:crypto';
import { plainMessagePack } from '@adrestia/consensus';
import { PkiError } from '../errors.ts';
import { isPlainObject } from './fields.ts';
import { TABLE_NAMES, type TableName } from './tables.ts';

const CHUNK_FORMAT = 'adrestia-pki-state-chunks';
const CHUNK_FORMAT_VERSION = 1;
/** Framing bytes counted per entry on top of its key and value (MessagePack headers, table name). */
const ENTRY_OVERHEAD_BYTES = 32;
/** The smallest chunk budget accepted: below it, framing would dominate. */
export const CHUNK_BYTES_MIN = 1024;

export type StateEntry = [TableName, string, Uint8Array];

const KNOWN_TABLES: ReadonlySet<string> = new Set(TABLE_NAMES);

function corrupt(message: string, cause?: unknown): PkiError {
  return new PkiError('ERR_INPUT_INVALID', `invalid state snapshot chunk: ${message}`, cause === undefined ? undefined : { cause });
}

function encodeChunk(n: number, entries: StateEntry[], hash: Hash, last: { count: number } | null): Uint8Array {
  const body = new Uint8Array(plainMessagePack.pack(entries));
  hash.update(body);
  const chunk: Record<string, unknown> = { format: CHUNK_FORMAT, v: CHUNK_FORMAT_VERSION, n, entries: body, done: last !== null };
  if (last !== null) {
    chunk['count'] = last.count;
    chunk['sha256'] = hash.digest('hex');
  }
  return new Uint8Array(plainMessagePack.pack(chunk));
}

/** Cuts a consistent iteration of the state into chunks of about `chunkBytesMax` bytes each. */
export async function* encodeSnapshotChunks(entries: AsyncIterable<StateEntry>, chunkBytesMax: number): AsyncGenerator<Uint8Array> {
  if (!Number.isSafeInteger(chunkBytesMax) || chunkBytesMax < CHUNK_BYTES_MIN) {
    throw new TypeError(`chunkBytesMax must be an integer ≥ ${CHUNK_BYTES_MIN}, got ${chunkBytesMax}`);
  }
  const hash = createHash('sha256');
  let pending: StateEntry[] = [];
  let pendingBytes = 0;
  let n = 0;
  let count = 0;
  for await (const entry of entries) {
    const size = entry[0].length + entry[1].length + entry[2].byteLength + ENTRY_OVERHEAD_BYTES;
    if (pending.length > 0 && pendingBytes + size > chunkBytesMax) {
      yield encodeChunk(n++, pending, hash, null);
      pending = [];
      pendingBytes = 0;
    }
    pending.push(entry);
    pendingBytes += size;
    count++;
  }
  yield encodeChunk(n, pending, hash, { count });
}

export interface DecodedChunk {
  n: number;
  entries: StateEntry[];
  /** Present on the last chunk: the entry count and digest the receiver must reproduce. */
  trailer: { count: number; sha256: string } | null;
  /** The MessagePack body the digest covers. */
  body: Uint8Array;
}

function readEntry(value: unknown): StateEntry {
  if (!Array.isArray(value) || value.length !== 3) throw corrupt('bad entry');
  const [table, key, bytes] = value as unknown[];
  if (typeof table !== 'string' || !KNOWN_TABLES.has(table)) throw corrupt(`unknown table ${String(table)}`);
  // eslint-disable-next-line no-control-regex -- a key is any ASCII string, NUL included (state/txn.ts)
  if (typeof key !== 'string' || !/^[\x00-\x7f]+$/.test(key)) throw corrupt(`table ${table}: bad key`);
  if (!(bytes instanceof Uint8Array)) throw corrupt(`table ${table}: bad value`);
  return [table as TableName, key, new Uint8Array(bytes)];
}

/** Decodes and checks one chunk's framing; the sequence checks are the installer's. */
export function decodeSnapshotChunk(bytes: Uint8Array): DecodedChunk {
  let outer: unknown;
  try {
    outer = plainMessagePack.unpack(bytes);
  } catch (e) {
    throw corrupt('not MessagePack', e);
  }
  if (!isPlainObject(outer) || outer['format'] !== CHUNK_FORMAT) throw corrupt('unknown format');
  if (outer['v'] !== CHUNK_FORMAT_VERSION) throw corrupt(`unsupported version ${String(outer['v'])}`);
  const n = outer['n'];
  const body = outer['entries'];
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw corrupt('bad chunk number');
  if (!(body instanceof Uint8Array)) throw corrupt('bad entries');
  let list: unknown;
  try {
    list = plainMessagePack.unpack(body);
  } catch (e) {
    throw corrupt('entries are not MessagePack', e);
  }
  if (!Array.isArray(list)) throw corrupt('entries are not a list');
  let trailer: DecodedChunk['trailer'] = null;
  if (outer['done'] === true) {
    const count = outer['count'];
    const sha256 = outer['sha256'];
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || typeof sha256 !== 'string') throw corrupt('bad trailer');
    trailer = { count, sha256 };
  } else if (outer['done'] !== false) {
    throw corrupt('bad done flag');
  }
  return { n, entries: list.map(readEntry), trailer, body };
}

/**
 * Follows a chunk sequence: chunks in order from 0, entries strictly increasing in the sender's
 * iteration order (table, then key), and the trailer's count and digest matching what arrived.
 */
export class SnapshotChunkVerifier {
  private readonly hash = createHash('sha256');
  private next = 0;
  private count = 0;
  private last: [string, string] | null = null;
  private finished = false;

  /** Checks `chunk` against the sequence so far; returns whether it was the last one. */
  accept(chunk: DecodedChunk): boolean {
    if (this.finished) throw corrupt('chunk after the last one');
    if (chunk.n !== this.next) throw corrupt(`chunk ${chunk.n} out of order, expected ${this.next}`);
    for (const [table, key] of chunk.entries) {
      const last = this.last;
      if (last !== null && !(last[0] < table || (last[0] === table && last[1] < key))) throw corrupt(`entries out of order at ${table}`);
      this.last = [table, key];
    }
    this.hash.update(chunk.body);
    this.count += chunk.entries.length;
    this.next++;
    if (chunk.trailer === null) return false;
    if (chunk.trailer.count !== this.count) throw corrupt(`trailer counts ${chunk.trailer.count} entries, ${this.count} arrived`);
    if (chunk.trailer.sha256 !== this.hash.digest('hex')) throw corrupt('checksum mismatch');
    this.finished = true;
    return true;
  }
}
