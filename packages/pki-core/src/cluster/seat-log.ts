// Seat persistence records (DESIGN "Two tiers"): a global-group seat's Ready is persisted as a
// `SeatPersist` record in its AZ's local log, and every node folds the committed records into a
// `SeatState` from which a new local leader rebuilds the seat's RaftCore storage.
//
// The format and the reducer live in @adrestia/consensus (two-tier/seat-log.ts), because the
// two-tier runtime there (SeatHost) writes and reads them and consensus may not depend on
// pki-core. This module is pki-core's face of it: the same functions, with the consensus
// `SeatLogError` mapped to `PkiError` codes (ERR_EVENT_MALFORMED for bytes that do not decode,
// ERR_EVENT_REJECTED for a record that would break Raft's durable invariants), so the PKI state
// machine handles seat records like any other local-log event.
import {
  SeatLogError,
  applySeatRecord as consensusApplySeatRecord,
  decodeSeatRecord as consensusDecodeSeatRecord,
  decodeSeatState as consensusDecodeSeatState,
  type SeatRecord,
  type SeatState,
} from '@adrestia/consensus';
import { PkiError } from '../errors.ts';

export {
  encodeSeatRecord,
  encodeSeatState,
  newSeatState,
  seatLastIndex,
  seatPersistFromReady,
  seatStorageState,
  seatTerm,
  type SeatCompact,
  type SeatPersist,
  type SeatRecord,
  type SeatState,
} from '@adrestia/consensus';

function asPkiError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof SeatLogError)) throw e;
    const code = e.code === 'ERR_SEAT_RECORD_MALFORMED' ? 'ERR_EVENT_MALFORMED' : 'ERR_EVENT_REJECTED';
    throw new PkiError(code, e.message, { cause: e });
  }
}

/**
 * Folds one committed record into the seat's state; a record that would break Raft's durable
 * invariants (a second vote in a term, a term or commit going back, a rewritten committed entry,
 * a gap) is refused with ERR_EVENT_REJECTED and the state is left as it was.
 */
export function applySeatRecord(state: SeatState, record: SeatRecord): SeatState {
  return asPkiError(() => consensusApplySeatRecord(state, record));
}

export function decodeSeatRecord(bytes: Uint8Array): SeatRecord {
  return asPkiError(() => consensusDecodeSeatRecord(bytes));
}

export function decodeSeatState(bytes: Uint8Array): SeatState {
  return asPkiError(() => consensusDecodeSeatState(bytes));
}
