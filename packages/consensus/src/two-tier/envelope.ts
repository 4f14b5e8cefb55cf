// The entries of an AZ's local log under the two-tier design, and of the global log. Plain
// MessagePack (consensus codec). Application payloads are opaque bytes to consensus.
import { decodeValue, encodeValue } from '../codec.ts';

import type { SeatOrigin } from './seat-host.ts';
import { decodeSeatRecord, encodeSeatRecord, type SeatRecord } from './seat-log.ts';

const FORMAT_VERSION = 1;

export type LocalEntry =
  /** An application command of this AZ; `reqId` lets the proposer find its outcome. */
  | { kind: 'app'; reqId: string | null; data: Uint8Array }
  /** The seat's durable state, persisted through the local log. */
  | { kind: 'seat'; origin: SeatOrigin; record: SeatRecord }
  /** A new local leader's marker: once applied, the local state is complete for its term. */
  | { kind: 'activate'; localTerm: number };

/** A global log entry: an application command proposed by some AZ's seat. */
export interface GlobalEntry {
  reqId: string | null;
  /** The AZ whose seat proposed it (its local leader waits for the outcome). */
  az: string;
  data: Uint8Array;
}

export function encodeLocalEntry(e: LocalEntry): Uint8Array {
  switch (e.kind) {
    case 'app':
      return encodeValue({ v: FORMAT_VERSION, k: 'app', r: e.reqId, d: e.data });
    case 'seat':
      return encodeValue({ v: FORMAT_VERSION, k: 'seat', t: e.origin.localTerm, s: e.origin.seq, d: encodeSeatRecord(e.record) });
    case 'activate':
      return encodeValue({ v: FORMAT_VERSION, k: 'activate', t: e.localTerm });
  }
}

/** Null for bytes that are not a local entry of ours (they are skipped alike on every replica). */
export function decodeLocalEntry(bytes: Uint8Array): LocalEntry | null {
  let m: Record<string, unknown>;
  try {
    const v = decodeValue(bytes);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    m = v as Record<string, unknown>;
  } catch {
    return null;
  }
  if (m['v'] !== FORMAT_VERSION) return null;
  if (m['k'] === 'app' && m['d'] instanceof Uint8Array && (m['r'] === null || typeof m['r'] === 'string')) {
    return { kind: 'app', reqId: m['r'], data: m['d'] };
  }
  if (m['k'] === 'activate' && Number.isSafeInteger(m['t'])) return { kind: 'activate', localTerm: m['t'] as number };
  if (m['k'] === 'seat' && Number.isSafeInteger(m['t']) && Number.isSafeInteger(m['s']) && m['d'] instanceof Uint8Array) {
    try {
      return { kind: 'seat', origin: { localTerm: m['t'] as number, seq: m['s'] as number }, record: decodeSeatRecord(m['d']) };
    } catch {
      return null;
    }
  }
  return null;
}

export function encodeGlobalEntry(e: GlobalEntry): Uint8Array {
  return encodeValue({ v: FORMAT_VERSION, r: e.reqId, az: e.az, d: e.data });
}

export function decodeGlobalEntry(bytes: Uint8Array): GlobalEntry | null {
  try {
    const m = decodeValue(bytes) as Record<string, unknown>;
    if (typeof m !== 'object' || m === null || m['v'] !== FORMAT_VERSION) return null;
    if (!(m['d'] instanceof Uint8Array) || typeof m['az'] !== 'string') return null;
    if (m['r'] !== null && typeof m['r'] !== 'string') return null;
    return { reqId: m['r'], az: m['az'], data: m['d'] };
  } catch {
    return null;
  }
}

