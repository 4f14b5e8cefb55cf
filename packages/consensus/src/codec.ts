// Plain MessagePack (msgpackr without records) for everything consensus writes to disk or puts on
// the wire: Entry, HardState, Snapshot, Message. Decoding validates the shape, because a decoded
// value comes from outside this process (a file or a peer) and RaftCore asserts on bad input.
import { Packr } from 'msgpackr';
import type { Message, MessageType } from './messages.ts';
import type { ConfState, Entry, HardState, Snapshot, SnapshotMetadata } from './types.ts';

export type CodecErrorCode = 'ERR_CODEC_INVALID';

/** A value could not be decoded, or decoded to something that is not the expected shape. */
export class CodecError extends Error {
  readonly code: CodecErrorCode = 'ERR_CODEC_INVALID';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CodecError';
  }
}

/**
 * The one MessagePack codec of every package: consensus's entries and messages, the PKI events,
 * state tables and snapshots, the server's peer and transport frames, the simulators' machines.
 * useRecords: false keeps the bytes plain MessagePack (no msgpackr record extension), so any
 * MessagePack implementation can read our disk and wire formats (TOOLCHAIN notes). `pack`
 * returns a Buffer over memory msgpackr may reuse on a later `pack`: copy what is kept.
 */
export const plainMessagePack: Packr = new Packr({ useRecords: false });

export function encodeValue(value: unknown): Uint8Array {
  return plainMessagePack.pack(value);
}

export function decodeValue(bytes: Uint8Array): unknown {
  try {
    return plainMessagePack.unpack(bytes);
  } catch (cause) {
    throw new CodecError('malformed MessagePack', { cause });
  }
}

// ---- shape checks (each returns the normalized value or throws CodecError) ----

function fail(what: string): never {
  throw new CodecError(`invalid ${what}`);
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(what);
  return v as Record<string, unknown>;
}

function uint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(what);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') fail(what);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') fail(what);
  return v;
}

/** msgpackr returns Buffer for bin data; hand out plain Uint8Array views so equality is by bytes. */
function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(what);
  return Object.getPrototypeOf(v) === Uint8Array.prototype
    ? v
    : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function strList(v: unknown, what: string): string[] {
  if (!Array.isArray(v)) fail(what);
  return v.map((x) => str(x, what));
}

const ENTRY_TYPES: ReadonlySet<string> = new Set(['normal', 'confChange']);

function entryType(v: unknown): Entry['type'] {
  if (typeof v !== 'string' || !ENTRY_TYPES.has(v)) fail('entry type');
  return v as Entry['type'];
}

function toEntry(v: unknown): Entry {
  const r = record(v, 'entry');
  return {
    term: uint(r.term, 'entry term'),
    index: uint(r.index, 'entry index'),
    type: entryType(r.type),
    data: bytes(r.data, 'entry data'),
  };
}

function toHardState(v: unknown): HardState {
  const r = record(v, 'hard state');
  const vote = r.vote === null || r.vote === undefined ? null : str(r.vote, 'hard state vote');
  return { term: uint(r.term, 'hard state term'), vote, commit: uint(r.commit, 'hard state commit') };
}

function toConfState(v: unknown): ConfState {
  const r = record(v, 'conf state');
  return {
    voters: strList(r.voters, 'conf state voters'),
    learners: strList(r.learners, 'conf state learners'),
    votersOutgoing: strList(r.votersOutgoing ?? [], 'conf state votersOutgoing'),
  };
}

function toSnapshotMetadata(v: unknown): SnapshotMetadata {
  const r = record(v, 'snapshot metadata');
  return {
    index: uint(r.index, 'snapshot index'),
    term: uint(r.term, 'snapshot term'),
    confState: toConfState(r.confState),
  };
}

function toSnapshot(v: unknown): Snapshot {
  const r = record(v, 'snapshot');
  return { metadata: toSnapshotMetadata(r.metadata), data: bytes(r.data, 'snapshot data') };
}

export const encodeEntry = (e: Entry): Uint8Array => encodeValue(e);
export const decodeEntry = (b: Uint8Array): Entry => toEntry(decodeValue(b));
export const encodeHardState = (h: HardState): Uint8Array => encodeValue(h);
export const decodeHardState = (b: Uint8Array): HardState => toHardState(decodeValue(b));
export const encodeSnapshot = (s: Snapshot): Uint8Array => encodeValue(s);
export const decodeSnapshot = (b: Uint8Array): Snapshot => toSnapshot(decodeValue(b));

// ---- messages ----

type FieldKind = 'uint' | 'optionalUint' | 'bool' | 'bytes' | 'entries' | 'proposals' | 'metadata';

/** The fields each message type carries beyond the envelope {type, from, to, term}. */
const MESSAGE_FIELDS: Record<MessageType, Record<string, FieldKind>> = {
  preVote: { lastLogIndex: 'uint', lastLogTerm: 'uint' },
  vote: { lastLogIndex: 'uint', lastLogTerm: 'uint', transfer: 'bool' },
  preVoteResp: { granted: 'bool' },
  voteResp: { granted: 'bool', leaderContactAgoTicks: 'optionalUint' },
  append: { prevLogIndex: 'uint', prevLogTerm: 'uint', entries: 'entries', commit: 'uint' },
  appendResp: { success: 'bool', index: 'uint', rejectHint: 'uint', rejectHintTerm: 'uint' },
  heartbeat: { commit: 'uint', readCtxSeq: 'uint' },
  heartbeatResp: { readCtxSeq: 'uint' },
  snapshot: {
    metadata: 'metadata',
    offset: 'uint',
    data: 'bytes',
    totalBytes: 'uint',
    done: 'bool',
  },
  snapshotResp: { snapshotIndex: 'uint', nextOffset: 'uint', reject: 'bool' },
  timeoutNow: {},
  readIndex: { requestCtx: 'bytes' },
  readIndexResp: { requestCtx: 'bytes', index: 'uint', ok: 'bool' },
  propose: { entries: 'proposals' },
};

function toProposal(v: unknown): { type: Entry['type']; data: Uint8Array } {
  const r = record(v, 'proposal');
  return { type: entryType(r.type), data: bytes(r.data, 'proposal data') };
}

function field(kind: FieldKind, v: unknown, name: string): unknown {
  switch (kind) {
    case 'uint':
      return uint(v, name);
    case 'optionalUint':
      return v === undefined ? undefined : uint(v, name);
    case 'bool':
      return bool(v, name);
    case 'bytes':
      return bytes(v, name);
    case 'metadata':
      return toSnapshotMetadata(v);
    case 'entries':
      if (!Array.isArray(v)) fail(name);
      return v.map(toEntry);
    case 'proposals':
      if (!Array.isArray(v)) fail(name);
      return v.map(toProposal);
  }
}

function toMessage(v: unknown): Message {
  const r = record(v, 'message');
  const type = str(r.type, 'message type');
  if (!Object.hasOwn(MESSAGE_FIELDS, type)) fail(`message type ${JSON.stringify(type)}`);
  const fields = MESSAGE_FIELDS[type as MessageType];
  const out: Record<string, unknown> = {
    type,
    from: str(r.from, 'message from'),
    to: str(r.to, 'message to'),
    term: uint(r.term, 'message term'),
  };
  for (const [name, kind] of Object.entries(fields)) {
    const value = field(kind, r[name], `${type}.${name}`);
    if (value !== undefined) out[name] = value;
  }
  return out as unknown as Message;
}

export const encodeMessage = (m: Message): Uint8Array => encodeValue(m);
export const decodeMessage = (b: Uint8Array): Message => toMessage(decodeValue(b));
