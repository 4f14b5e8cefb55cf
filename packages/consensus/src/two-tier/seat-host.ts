// SeatHost: one AZ's seat in the global Raft group (docs/architecture.md §3).
//
// Every node of an AZ runs a SeatHost. All of them fold the AZ's committed seat records into the
// seat's durable state (`SeatState`, seat-log.ts) and apply the global entries that state marks
// committed, so every node holds the global state. Only the AZ's local leader *activates* the
// seat: it builds the seat's RaftCore from that durable state and drives it. Each seat Ready's
// durable part is proposed to the local group as a record; its messages are sent and the core
// advanced only once that record is applied locally — the local log is the seat's stable storage.
// A deposed local leader can therefore never act for the seat: it cannot commit a record, and the
// first thing its successor does (`activate`, after its own term's first entry is applied) is to
// rebuild the seat from everything ever committed.
import type { RaftConfig } from '../config.ts';
import type { Message } from '../messages.ts';
import { RaftCore, type RaftStatus } from '../raft-core.ts';
import type { RandomSource } from '../random.ts';
import type { Ready } from '../ready.ts';
import type { ConfChange, ConfState, Entry, NodeId, Snapshot } from '../types.ts';
import {
  applySeatRecord,
  newSeatState,
  seatPersistFromReady,
  seatStorageState,
  type SeatRecord,
  type SeatState,
} from './seat-log.ts';

/** Which activation of which local leader proposed a record. */
export interface SeatOrigin {
  localTerm: number;
  seq: number;
}

export interface SeatHostOptions {
  /** The seat's identity in the global group: the AZ name. */
  az: NodeId;
  config: RaftConfig;
  random: RandomSource;
  /** Proposes an encoded seat record to the local group (loss is tolerated: the seat retries). */
  proposeRecord(record: SeatRecord, origin: SeatOrigin): void;
  /** Sends seat messages to other seats (addressed by AZ name). */
  send(messages: readonly Message[]): void;
  /** Membership for a seat whose durable state holds none yet (the founding seat, or a new AZ). */
  initialConfState?: ConfState;
}

/** What applying a committed seat record gives the caller to apply to its global state. */
export interface GlobalApply {
  /** A global snapshot to restore from first, when the seat installed one. */
  snapshot: Snapshot | null;
  /** Newly committed global entries, in order (including no-op and confChange entries). */
  entries: Entry[];
}

interface Activation {
  core: RaftCore;
  localTerm: number;
  nextSeq: number;
  /** The Ready whose durable part awaits its local commit. */
  pending: { ready: Ready; seq: number; ticksWaiting: number } | null;
}

export class SeatHost {
  readonly az: NodeId;
  private state: SeatState;
  private globalApplied = 0;
  private active: Activation | null = null;

  constructor(private readonly options: SeatHostOptions) {
    this.az = options.az;
    this.state = newSeatState(options.az);
  }

  // ---- every node: durable state from the local log ----

  /**
   * Folds one committed record (in local log order, on every node of the AZ) and returns the
   * global entries it newly commits. Throws the seat-log rejection for a record that would break
   * Raft's durable invariants; the caller treats that as a rejected (skipped) local entry.
   */
  applyRecord(record: SeatRecord, origin: SeatOrigin): GlobalApply {
    this.state = applySeatRecord(this.state, record);
    const result = this.collectCommitted();
    const a = this.active;
    if (a && a.pending && origin.localTerm === a.localTerm && origin.seq === a.pending.seq) {
      // Durable now: the Ready's messages may go out (Raft Figure 2: persist before responding).
      const { ready } = a.pending;
      a.pending = null;
      if (ready.messages.length > 0) this.options.send(ready.messages);
      a.core.advance(ready);
      this.pump();
    }
    return result;
  }

  private collectCommitted(): GlobalApply {
    let snapshot: Snapshot | null = null;
    const snapIndex = this.state.snapshot?.metadata.index ?? 0;
    if (snapIndex > this.globalApplied) {
      snapshot = this.state.snapshot;
      this.globalApplied = snapIndex;
    }
    const first = snapIndex + 1;
    const commit = Math.min(this.state.hardState.commit, first + this.state.entries.length - 1);
    const entries = commit > this.globalApplied ? this.state.entries.slice(this.globalApplied + 1 - first, commit + 1 - first) : [];
    if (entries.length > 0) this.globalApplied = commit;
    return { snapshot, entries: entries.map((e) => ({ ...e })) };
  }

  /** The durable seat state (for the local state machine's snapshots). */
  seatState(): SeatState {
    return this.state;
  }

  /** Replaces the durable state from a local snapshot (nothing is active on a restoring node). */
  restoreSeatState(state: SeatState, globalApplied: number): void {
    this.deactivate();
    this.state = state;
    this.globalApplied = globalApplied;
  }

  globalAppliedIndex(): number {
    return this.globalApplied;
  }

  // ---- the local leader only ----

  /**
   * Call on the local leader once every entry before its own term's first entry is applied (so
   * the durable state is complete). Rebuilds the seat's core as a restarted Raft node would.
   */
  activate(localTerm: number): void {
    if (this.active?.localTerm === localTerm) return;
    const stored = seatStorageState(this.state);
    const core = new RaftCore({
      id: this.az,
      config: this.options.config,
      random: this.options.random,
      storage: { hardState: stored.hardState, snapshot: stored.snapshot, entries: stored.entries },
      ...(this.options.initialConfState ? { initialConfState: this.options.initialConfState } : {}),
      appliedIndex: this.globalApplied,
    });
    this.active = { core, localTerm, nextSeq: 1, pending: null };
    this.pump();
  }

  /** Call as soon as this node stops being the local leader (or loses its check-quorum lease). */
  deactivate(): void {
    this.active = null;
  }

  isActive(): boolean {
    return this.active !== null;
  }

  tick(): void {
    const a = this.active;
    if (!a) return;
    a.core.tick();
    if (a.pending && ++a.pending.ticksWaiting >= this.options.config.electionTimeoutTicks) {
      // The record was lost (e.g. dropped by the local group): propose the same durable part
      // again. Applying a record twice is harmless: entries overwrite themselves, hard state repeats.
      a.pending.ticksWaiting = 0;
      this.proposeDurable(a, a.pending.ready, a.pending.seq);
    }
    this.pump();
  }

  step(message: Message): void {
    const a = this.active;
    if (!a || message.to !== this.az) return;
    a.core.step(message);
    this.pump();
  }

  /** Global proposal from this seat (forwarded to the global leader when this seat is not it). */
  propose(data: Uint8Array): void {
    this.requireActive().core.propose(data);
    this.pump();
  }

  proposeConfChange(cc: ConfChange): void {
    this.requireActive().core.proposeConfChange(cc);
    this.pump();
  }

  campaign(): void {
    this.requireActive().core.campaign();
    this.pump();
  }

  transferLeadership(to: NodeId): void {
    this.requireActive().core.transferLeadership(to);
    this.pump();
  }

  status(): RaftStatus | null {
    return this.active ? this.active.core.status() : null;
  }

  /** True while this seat leads the global group and holds its check-quorum lease. */
  hasGlobalLease(): boolean {
    const a = this.active;
    return a !== null && a.core.status().role === 'leader' && a.core.hasQuorumLease();
  }

  private requireActive(): Activation {
    if (!this.active) throw new TypeError(`seat ${this.az} is not active on this node`);
    return this.active;
  }

  /** Takes the next Ready when none is waiting for its local commit. */
  private pump(): void {
    const a = this.active;
    while (a && this.active === a && !a.pending && a.core.hasReady()) {
      const ready = a.core.ready();
      const seq = a.nextSeq++;
      if (seatPersistFromReady(this.az, ready) === null) {
        // Nothing durable changed: send at once (heartbeats, responses that change no state).
        if (ready.messages.length > 0) this.options.send(ready.messages);
        a.core.advance(ready);
        continue;
      }
      a.pending = { ready, seq, ticksWaiting: 0 };
      this.proposeDurable(a, ready, seq);
    }
  }

  private proposeDurable(a: Activation, ready: Ready, seq: number): void {
    const record = seatPersistFromReady(this.az, ready)!;
    this.options.proposeRecord(record, { localTerm: a.localTerm, seq });
  }
}
