// The replicated PKI state machine: events, their codec, applyEvent, and the store (in production
// the PKI state is kept in memory, rebuilt from the Raft snapshot + log on start).
export type { EventOf, PkiEvent } from './events.ts';
export { decodeEvent, encodeEvent } from './event-codec.ts';
export { idempotencyKey } from './idempotency.ts';
export type { ApplyOutcome } from './outcome.ts';
export { PkiStateStore } from './store.ts';
export type { CommittedEntry } from './store.ts';
export { PkiStateMachine } from './state-machine.ts';
