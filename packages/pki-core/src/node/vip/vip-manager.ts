// VIP ownership for both leader roles (docs/spec.md §2.6: pkiLocalVip, pkiGlobalVip). Each tick the
// fence (cluster/vip-fence.ts) decides from the role and its check-quorum lease: a deposed leader
// releases as soon as its lease lapses, and a new leader acquires only after any earlier
// holder's lease must have run out, so two nodes never hold one VIP.
import type { ClockTimer, TwoTierNode } from '@adrestia/consensus';
import { systemClock, type Clock } from '@adrestia/consensus';
import {
  INITIAL_STALL_WATCH,
  INITIAL_VIP_FENCE,
  clockDriftBoundMs,
  stepStallWatch,
  stepVipFence,
  type StallWatchState,
  type VipFenceState,
} from '../../cluster/vip-fence.ts';
import type { PkiApplyResult } from '../core/pki-application.ts';

/** The server's VipHook (exec | bind | none) has this shape. */
export interface VipHookLike {
  acquire(vip: { address: string }): Promise<void>;
  release(vip: { address: string }): Promise<void>;
}

export interface VipSettings {
  hook: VipHookLike;
  globalVip: string | null;
  localVip: string | null;
  /**
   * Bound on clock disagreement over one lease (cluster/vip-fence.ts clockDriftBoundMs); default:
   * the bound for clocks erring by {@link DEFAULT_CLOCK_RATE_ERROR} over the longer lease.
   */
  maxClockDriftMs?: number;
  /**
   * What a deposed holder may need after its lease lapses before its `release` hook has finished:
   * up to two fence steps to notice (its lease and its fence are both checked once a tick), then
   * the hook itself. A new holder waits this much longer. Default: 2 ticks + {@link DEFAULT_RELEASE_HOOK_MS}.
   */
  releaseMarginMs?: number;
  clock?: Clock;
  /** Hook failures (logged by the caller; the fence retries on the next step). */
  onError?: (error: unknown, vip: string, action: 'acquire' | 'release') => void;
}

/**
 * 500 ppm: the largest frequency correction NTP's clock discipline applies (MAXFREQ of RFC 5905's
 * reference implementation), which CLOCK_MONOTONIC follows; hardware itself is specified at 15 ppm.
 */
const DEFAULT_CLOCK_RATE_ERROR = 0.0005;
/** Time allowed for a `release` hook (an `ip addr del` through the exec hook, a socket close). */
const DEFAULT_RELEASE_HOOK_MS = 250;

interface Fenced {
  address: string;
  state: VipFenceState;
  busy: boolean;
  isLeader: () => boolean;
  leaseValid: () => boolean;
  term: () => number;
  leaseMs: number;
  /** Ms until earlier holders' leases have provably lapsed (vip-fence.ts), or null: unknown. */
  priorLeaseRemainingMs: () => number | null;
}

export class VipManager {
  private readonly vips: Fenced[] = [];
  private readonly timer: ClockTimer;
  /** Drift allowance and release margin of every fence step (vip-fence.ts). */
  private readonly fenceConfig: { maxClockDriftMs: number; releaseMarginMs: number };
  /** Skipped ticks (a stall of this process) void the tick-counted leases (vip-fence.ts). */
  private stallWatch: StallWatchState = INITIAL_STALL_WATCH;
  private readonly stallWatchConfig: { stepMs: number; leaseDurationMs: number; toleranceMs: number };

  constructor(
    private readonly settings: VipSettings,
    twoTier: TwoTierNode<PkiApplyResult>,
    tickMs: number,
    private readonly nowMs: () => number,
    localElectionTicks: number,
    globalElectionTicks: number,
  ) {
    if (settings.localVip) {
      // A node founding its AZ leads a group of its own until the global leader accepts it as the
      // founder (TwoTierNode seatHeld): the AZ's VIP is not its to take before that.
      const leadsTheAz = (): boolean => twoTier.isLocalLeader() && !twoTier.isSeatHeld();
      const priorLeaseRemainingMs = (): number | null => {
        const ticks = twoTier.localPriorLeaseRemainingTicks();
        return ticks === null ? null : ticks * tickMs;
      };
      this.vips.push(fenced(settings.localVip, tickMs * localElectionTicks, leadsTheAz, () => twoTier.hasLocalLease(), () => twoTier.status().local.term, priorLeaseRemainingMs));
    }
    if (settings.globalVip) {
      this.vips.push(
        // The seat's core is rebuilt whenever another node of the AZ acts for it, so its contact
        // record would not cover the acting node before it: the global VIP waits a whole lease.
        fenced(settings.globalVip, tickMs * globalElectionTicks, () => twoTier.status().seat?.role === 'leader', () => twoTier.isGlobalLeader(), () => twoTier.status().seat?.term ?? 0, () => null),
      );
    }
    const longestLeaseMs = tickMs * Math.max(localElectionTicks, globalElectionTicks);
    this.fenceConfig = {
      maxClockDriftMs: settings.maxClockDriftMs ?? clockDriftBoundMs(longestLeaseMs, DEFAULT_CLOCK_RATE_ERROR),
      releaseMarginMs: settings.releaseMarginMs ?? 2 * tickMs + DEFAULT_RELEASE_HOOK_MS,
    };
    this.stallWatchConfig = { stepMs: tickMs, leaseDurationMs: longestLeaseMs, toleranceMs: this.fenceConfig.releaseMarginMs };
    // A crashed holder may have left the address configured (start-up release, vip-fence.ts).
    for (const v of this.vips) void this.run(v, 'release');
    this.timer = (settings.clock ?? systemClock).setInterval(() => this.step(), tickMs);
  }

  private step(): void {
    const nowMs = this.nowMs();
    // First, before any fence: after a stall this step releases every VIP held (vip-fence.ts).
    const watch = stepStallWatch(this.stallWatch, nowMs, this.stallWatchConfig);
    this.stallWatch = watch.state;
    for (const v of this.vips) {
      if (v.busy) continue;
      const { state, action } = stepVipFence(
        v.state,
        { isLeader: v.isLeader(), term: v.term(), leaseValid: watch.leaseTrusted && v.leaseValid(), priorLeaseRemainingMs: v.priorLeaseRemainingMs(), nowMs },
        { leaseDurationMs: v.leaseMs, ...this.fenceConfig },
      );
      v.state = state;
      if (action) void this.run(v, action);
    }
  }

  private async run(v: Fenced, action: 'acquire' | 'release'): Promise<void> {
    v.busy = true;
    try {
      await this.settings.hook[action]({ address: v.address });
    } catch (e) {
      this.settings.onError?.(e, v.address, action);
      // Not held after a failed acquire: the fence will try again; a failed release stays "released".
      if (action === 'acquire') v.state = { ...v.state, holding: false };
    } finally {
      v.busy = false;
    }
  }

  holding(address: string): boolean {
    return this.vips.some((v) => v.address === address && v.state.holding);
  }

  async stop(): Promise<void> {
    this.timer.cancel();
    for (const v of this.vips) if (v.state.holding) await this.run(v, 'release');
  }
}

function fenced(address: string, leaseMs: number, isLeader: () => boolean, leaseValid: () => boolean, term: () => number, priorLeaseRemainingMs: () => number | null): Fenced {
  return { address, state: INITIAL_VIP_FENCE, busy: false, isLeader, leaseValid, term, leaseMs, priorLeaseRemainingMs };
}
