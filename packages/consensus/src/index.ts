// Public entry of @adrestia/consensus: the Raft library a caller drives. Internals (progress
// tracking, quorum math, the raft log, the codecs of what storage writes, the seat log inside
// TwoTierNode, membership-change encoding) are not exported; siblings import only what is listed.

// Raft's data: ids, entries, hard and soft state, membership, snapshots, the messages, Ready.
export type * from './types.ts';
export type * from './messages.ts';
export type * from './ready.ts';

// The pure Raft core (etcd-style: no I/O), its configuration and its typed errors.
export * from './raft-core.ts';
export * from './config.ts';
export { RaftError, RaftInvariantError, type RaftErrorCode } from './errors.ts';

// The driver of one Raft group: persist, send, apply, advance (node-driver.ts handleReady).
export {
  NodeDriver,
  type DriverEvents,
  type DriverStatus,
  type NodeDriverOptions,
  type StateMachine,
} from './node-driver.ts';
export { DriverError, type Applied, type DriverErrorCode } from './driver-requests.ts';

// Two tiers: AZ seats in the global group, persisted through each AZ's local log.
export {
  TwoTierError,
  TwoTierNode,
  type CommandMeta,
  type DurableState,
  type TwoTierApplication,
  type TwoTierErrorCode,
  type TwoTierNodeOptions,
  type TwoTierStatus,
} from './two-tier/two-tier-node.ts';
export {
  StateTransfer,
  StateTransferError,
  type StateFrameChannel,
  type StateInstall,
  type StateOnDisk,
  type StateTransferOptions,
  type StateView,
} from './two-tier/state-transfer.ts';

// Storage: the interface, LevelDB (several groups may share one database) and memory.
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

// Transports: the interface, the message and value codec a network transport carries, and
// in-memory networks for the local groups and for the seats.
export type { MessageHandler, Transport } from './transport.ts';
export { CodecError, decodeMessage, decodeValue, encodeMessage, encodeValue, plainMessagePack, type CodecErrorCode } from './codec.ts';
export { MemoryNetwork, MemoryTransport, type DropFilter, type MemoryNetworkOptions } from './memory-transport.ts';
export { MemorySeatNetwork } from './two-tier/memory-seat-network.ts';

// Time and randomness, injected so a simulator replays a run exactly.
export { systemClock, ManualClock, type Clock, type ClockTimer } from './clock.ts';
export { SeededRandom, systemRandom, type RandomSource } from './random.ts';
