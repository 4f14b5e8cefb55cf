// Public entry of @adrestia/consensus. Internals (progress tracking, quorum math, the raft log)
// are not exported; siblings import only what is listed here.
export type * from './types.ts';
export type * from './messages.ts';
export type * from './ready.ts';
export { SeededRandom, systemRandom, type RandomSource } from './random.ts';
export {
  CodecError,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshot,
  decodeValue,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshot,
  encodeValue,
  plainMessagePack,
  type CodecErrorCode,
} from './codec.ts';
export {
  EMPTY_HARD_STATE,
  StorageError,
  type SaveOptions,
  type Storage,
  type StorageErrorCode,
  type StorageState,
  type StorageWrite,
} from './storage.ts';
export { LevelStorage, openLevelDb, type LevelDb, type LevelStorageOptions } from './level-storage.ts';
export { MemoryStorage } from './memory-storage.ts';
export type { MessageHandler, Transport } from './transport.ts';
export { MemoryNetwork, MemoryTransport, type DropFilter, type MemoryNetworkOptions } from './memory-transport.ts';
export { systemClock, ManualClock, type Clock, type ClockTimer } from './clock.ts';
export { DriverError, type Applied, type DriverErrorCode } from './driver-requests.ts';
export {
  NodeDriver,
  type DriverEvents,
  type DriverStatus,
  type NodeDriverOptions,
  type StateMachine,
} from './node-driver.ts';
export * from './raft-core.ts';
export * from './config.ts';
export * from './errors.ts';
export { encodeConfChange, decodeConfChange, applyConfChange } from './conf-change.ts';
// Two tiers: AZ seats in the global group, persisted through each AZ's local log.
export {
  SeatLogError,
  applySeatRecord,
  decodeSeatRecord,
  decodeSeatState,
  encodeSeatRecord,
  encodeSeatState,
  newSeatState,
  seatLastIndex,
  seatPersistFromReady,
  seatStorageState,
  seatTerm,
  type SeatCompact,
  type SeatLogErrorCode,
  type SeatPersist,
  type SeatRecord,
  type SeatState,
} from './two-tier/seat-log.ts';
export { SeatHost, type GlobalApply, type SeatHostOptions, type SeatOrigin } from './two-tier/seat-host.ts';
export {
  TwoTierError,
  TwoTierNode,
  type CommandMeta,
  type TwoTierApplication,
  type TwoTierErrorCode,
  type TwoTierNodeOptions,
  type TwoTierStatus,
} from './two-tier/two-tier-node.ts';
export { MemorySeatNetwork } from './two-tier/memory-seat-network.ts';
