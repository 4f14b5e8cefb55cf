// The replicated PKI state machine: events, their codec, applyEvent, and the store (in production
// the PKI state is kept in memory, rebuilt from the Raft snapshot + log on start).
export { EVENT_FORMAT_VERSION, CRL_REASON_NAMES, DEFAULT_CLUSTER_SETTINGS } from './events.ts';
export type {
  AzSpec,
  CaRole,
  ClusterSettings,
  NodeAddresses,
  EventOf,
  PkiEvent,
  PkiEventType,
  PlainData,
  ClusterCreatedEvent,
  ClusterSettingsSetEvent,
  AzAddedEvent,
  AzDeclaredEvent,
  AzFoundedEvent,
  AzRemovalStartedEvent,
  AzRemovedEvent,
  CaCertificateInstalledEvent,
  CaKeyRewrappedEvent,
  NodeRegisteredEvent,
  NodeRemovedEvent,
  IssuedEvent,
  RevokedEvent,
  CrlPublishedEvent,
  ProfileSetEvent,
  ProfileRemovedEvent,
  ExpiredPrunedEvent,
  JoinTokenIssuedEvent,
  JoinTokenUsedEvent,
} from './events.ts';
export { decodeEvent, encodeEvent, isValidId, MAX_EVENT_BYTES } from './event-codec.ts';
export { LIMITS as EVENT_LIMITS } from './fields.ts';
export { idempotencyKey, normalizeSans } from './idempotency.ts';
export { applyEvent } from './apply-event.ts';
export type { ApplyError, ApplyMeta, ApplyOutcome, ApplyResult, ExpiredPrunedResult, IssuedResult, PlainResult } from './outcome.ts';
export type {
  AppliedRecord,
  AzPhase,
  AzRecord,
  CaCertificateRecord,
  CaRecord,
  CertificateRecord,
  ClusterRecord,
  CrlRecord,
  IdempotencyRecord,
  JoinTokenRecord,
  LeafCertificateRecord,
  NodeRecord,
  ProfileRecord,
  RevocationRecord,
  SerialRecord,
} from './records.ts';
export { Overlay, StateTxn } from './txn.ts';
export type { KeyRange, KvReader } from './txn.ts';
export { PkiStateQueries, MAX_LIST_ITEMS } from './queries.ts';
export { PkiStateStore, MAX_BATCH_EVENTS } from './store.ts';
export type { CommittedEntry, PkiStateStoreOptions } from './store.ts';
export { PkiStateMachine } from './state-machine.ts';
export type { StateBackend } from './backend.ts';
export { LevelBackend } from './level-backend.ts';
export { MemoryBackend } from './memory-backend.ts';
export { SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION } from './snapshot.ts';
