// Who may hold a VIP (pkiGlobalVip, pkiLocalVip), as a pure state machine: two nodes answering on
// one address would split clients between two leaders, so a deposed leader must release before a
// new one acquires (docs/architecture.md §6).
//
// The fence rests on the check-quorum lease (Raft thesis §6.4.1, etcd's CheckQuorum): a leader
// may hold the VIP only while its lease is valid. The lease starts when the leader SENDS a
// heartbeat round that a quorum then acknowledges and lasts `leaseDurationMs` on the leader's
// clock (RaftCore.hasQuorumLease()). A new leader's election needs votes from a quorum, which
// intersects every quorum the old leader heard from; the intersecting voter acknowledged the old
// leader's last lease-granting round before it voted, so that round was sent before the new leader
// won. The old lease therefore ends at most `leaseDurationMs`, measured on the old leader's
// clock, after the new leader's election. The new leader waits `leaseDurationMs +
// maxClockDriftMs` on its own clock from when it first sees itself leader, where
// `maxClockDriftMs` bounds how much two nodes' clocks may disagree over one lease period
// ({@link clockDriftBoundMs}). Elapsed times only: clocks must be monotonic, offsets are irrelevant.
// The intersecting voter's acknowledgement can be dated too: each voter reports how long before
// its vote it last heard from any leader, so the round was sent no later than the latest such
// contact among the voters that elected us (RaftCore.priorLeaseRemainingTicks). Given that bound
// (`priorLeaseRemainingMs`), the wait counts from it instead of from the election: after a crash
// the followers' election timeout has usually outlasted the old lease already.
//
// A deposed holder notices its lapsed lease only at its next fence step and then runs its
// `release` hook: the new leader also waits `releaseMarginMs`, which must cover both (a step is
// one tick; keep hook time inside the rest). On start-up the server runs `release` once before the first
// step: a holder that crashed may still have the address configured, and its fence state is gone.
//
// The lease is counted in Raft ticks (RaftCore.hasQuorumLease(): ticks since the round was sent),
// and ticks come from setInterval, which skips the periods an event loop missed instead of catching
// up: after a stall of the holder's process (a GC pause, a starved or paused VM) its lease is
// short by one tick only, while in monotonic milliseconds — the new leader's wait — it ran out long
// ago. The stall watch ({@link stepStallWatch}) closes that gap: a step that comes more than a
// period plus the release margin after the previous one means ticks were skipped, so a lease reported valid may be backed by
// a round sent before the stall; it is not trusted (the holder releases at that first step) until
// a full lease has passed on the monotonic clock, by when any round sent before the stall has run
// out in ticks too and a valid lease is backed by a round sent after it. A holder cannot release
// while its process does not run at all: a stall longer than the new leader's wait still overlaps
// (no lease bounds a paused holder); the watch bounds the overlap by the stall itself. Lateness
// below one period skips no tick and is, as before, what the drift allowance and margin absorb.

export interface VipFenceConfig {
  /** The check-quorum lease (the election timeout), in ms. */
  leaseDurationMs: number;
  /** The most two nodes' clocks may disagree over one lease period, in ms. */
  maxClockDriftMs: number;
  /** Time a deposed holder may take to notice its lapsed lease and finish `release`, in ms (default 0). */
  releaseMarginMs?: number;
}

export interface VipFenceInput {
  isLeader: boolean;
  /** The Raft term of the role; a new term restarts the wait. */
  term: number;
  /** RaftCore.hasQuorumLease() at `nowMs`. */
  leaseValid: boolean;
  /**
   * While leader: ms from `nowMs` until every earlier holder's lease has provably lapsed
   * (RaftCore.priorLeaseRemainingTicks: counted from the last leader contact of the voters that
   * elected this leader; negative when it lapsed before). Absent: assume a lease may have been
   * granted just before the election, and wait a whole lease.
   */
  priorLeaseRemainingMs?: number | null;
  /** A monotonic clock. */
  nowMs: number;
}

export interface VipFenceState {
  readonly holding: boolean;
  /** The term `eligibleAtMs` belongs to; null when not leader. */
  readonly term: number | null;
  /** When this leader may first acquire; null when not leader. */
  readonly eligibleAtMs: number | null;
  readonly lastNowMs: number | null;
}

type VipAction = 'acquire' | 'release';

export interface VipFenceStep {
  state: VipFenceState;
  /** Run this hook now (null: nothing to do). */
  action: VipAction | null;
}

export const INITIAL_VIP_FENCE: VipFenceState = Object.freeze({
  holding: false,
  term: null,
  eligibleAtMs: null,
  lastNowMs: null,
});

/**
 * `maxClockDriftMs` for clocks whose rates err by at most `maxRateError` (e.g. 0.001 = 1000 ppm).
 * Worst case: the old leader's clock runs slow, stretching its lease to L/(1-ρ) real time, while
 * the new leader's runs fast, shrinking its wait to (L+D)/(1+ρ); safety needs D ≥ 2ρL/(1-ρ).
 */
export function clockDriftBoundMs(leaseDurationMs: number, maxRateError: number): number {
  if (!(maxRateError >= 0 && maxRateError < 1)) throw new TypeError('maxRateError must be in [0, 1)');
  return Math.ceil((leaseDurationMs * 2 * maxRateError) / (1 - maxRateError));
}

function checkVipFenceConfig(config: VipFenceConfig): void {
  const ok = (n: number): boolean => Number.isFinite(n) && n >= 0;
  if (!ok(config.leaseDurationMs) || config.leaseDurationMs === 0 || !ok(config.maxClockDriftMs) || !ok(config.releaseMarginMs ?? 0)) {
    throw new TypeError('vip fence: leaseDurationMs must be > 0, maxClockDriftMs and releaseMarginMs ≥ 0');
  }
}

export function stepVipFence(state: VipFenceState, input: VipFenceInput, config: VipFenceConfig): VipFenceStep {
  checkVipFenceConfig(config);
  if (state.lastNowMs !== null && input.nowMs < state.lastNowMs) {
    throw new Error(`vip fence: clock went backwards (${input.nowMs} < ${state.lastNowMs}); use a monotonic clock`);
  }
  const lastNowMs = input.nowMs;
  if (!input.isLeader) {
    return { state: { holding: false, term: null, eligibleAtMs: null, lastNowMs }, action: state.holding ? 'release' : null };
  }
  if (state.term !== input.term || state.eligibleAtMs === null) {
    // First sight of leadership in this term: any earlier holder's lease must run out first, and
    // its holder then needs the release margin. A holder from an older term of our own (no
    // step-down observed) releases now.
    const leaseLeftMs = Math.min(config.leaseDurationMs, input.priorLeaseRemainingMs ?? config.leaseDurationMs);
    const eligibleAtMs = input.nowMs + Math.max(0, leaseLeftMs + config.maxClockDriftMs + (config.releaseMarginMs ?? 0));
    const next: VipFenceState = { holding: false, term: input.term, eligibleAtMs, lastNowMs };
    return { state: next, action: state.holding ? 'release' : null };
  }
  if (!input.leaseValid) {
    return { state: { ...state, holding: false, lastNowMs }, action: state.holding ? 'release' : null };
  }
  if (!state.holding && input.nowMs >= state.eligibleAtMs) {
    return { state: { ...state, holding: true, lastNowMs }, action: 'acquire' };
  }
  return { state: { ...state, lastNowMs }, action: null };
}

export interface StallWatchConfig {
  /** The period of the steps (the Raft tick), in ms. */
  stepMs: number;
  /**
   * Lateness of a step that is not taken for a stall: the release margin the new leader waits on
   * top of the lease (a skip shorter than it stretches the lease by less than that wait has
   * spare); real event loops jitter by more than a tick under load, so zero would make VIPs flap.
   */
  toleranceMs: number;
  /** How long a lease is not trusted after a stall: the longest lease of the fences it guards, in ms. */
  leaseDurationMs: number;
}

export interface StallWatchState {
  readonly lastStepMs: number | null;
  /** Until then a lease reported valid is not trusted; null: trusted. */
  readonly distrustUntilMs: number | null;
}

export const INITIAL_STALL_WATCH: StallWatchState = Object.freeze({ lastStepMs: null, distrustUntilMs: null });

/**
 * One step of the stall watch at `nowMs` (a monotonic clock), once per step of the VIP manager:
 * `leaseTrusted` false means every fence must treat its lease as lapsed now (see the file header).
 */
export function stepStallWatch(state: StallWatchState, nowMs: number, config: StallWatchConfig): { state: StallWatchState; leaseTrusted: boolean } {
  if (!(Number.isFinite(config.stepMs) && config.stepMs > 0 && Number.isFinite(config.leaseDurationMs) && config.leaseDurationMs > 0 && Number.isFinite(config.toleranceMs) && config.toleranceMs >= 0)) {
    throw new TypeError('stall watch: stepMs and leaseDurationMs must be > 0, toleranceMs ≥ 0');
  }
  if (state.lastStepMs !== null && nowMs < state.lastStepMs) {
    throw new Error(`stall watch: clock went backwards (${nowMs} < ${state.lastStepMs}); use a monotonic clock`);
  }
  const skipped = state.lastStepMs !== null && nowMs - state.lastStepMs > config.stepMs + config.toleranceMs;
  const until = skipped ? nowMs + config.leaseDurationMs : state.distrustUntilMs;
  const distrustUntilMs = until !== null && nowMs < until ? until : null;
  return { state: { lastStepMs: nowMs, distrustUntilMs }, leaseTrusted: distrustUntilMs === null };
}

/** The next time a step could acquire without any other input changing, or null. */
export function vipFenceWakeAtMs(state: VipFenceState): number | null {
  return state.holding ? null : state.eligibleAtMs;
}
