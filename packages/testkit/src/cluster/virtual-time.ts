// Virtual time for the cluster simulator: one seeded event queue drives every timer, every message
// delivery, every client request and every fault (TigerBeetle's VOPR: everything from one seed).
//
// The code under test is asynchronous (NodeDriver's Ready loop runs on setImmediate, storage and
// application calls are awaited). Between two instants of virtual time the scheduler lets that
// work run for a FIXED number of setImmediate rounds. Nothing in the simulated system uses real
// timers or real I/O, so which callbacks run in those rounds is a function of the events alone,
// and a run is a pure function of its seed.
import { createHash, type Hash } from 'node:crypto';
import type { Clock, ClockTimer } from '@adrestia/consensus';
import { SeededRandom } from '@adrestia/consensus';
import { EventHeap } from '../sim/event-heap.ts';

/** setImmediate rounds run after each instant: enough for a Ready round trip; the rest carries over. */
export const DRAIN_ROUNDS = 8;

interface QueuedEvent {
  atUs: number;
  seq: number;
  label: string;
  run: () => void | Promise<void>;
  /** The simulated node whose code the event runs, if any. */
  owner: string | null;
  cancelled: boolean;
}

export interface EventHandle {
  cancel(): void;
}

/** A run's budget: past either limit the run stops and is reported `hung` (it replays from its seed). */
export interface RunBudget {
  eventsMax: number;
  virtualUsMax: number;
}

/** Generous for every formation: the grown one's 60 s bound plus chaos and two 20 s recovery bounds. */
const DEFAULT_RUN_BUDGET: RunBudget = { eventsMax: 1_000_000, virtualUsMax: 150_000_000 };

/** Thrown by the scheduler once a run is over its budget; every later step throws it again. */
export class RunBudgetExceeded extends Error {
  constructor(
    readonly budget: RunBudget,
    readonly eventsRun: number,
    readonly atUs: number,
  ) {
    super(`run over its budget (${budget.eventsMax} events, ${budget.virtualUsMax / 1e6} virtual s) at ${eventsRun} events, ${atUs / 1000} ms`);
    this.name = 'RunBudgetExceeded';
  }
}

const drainRound = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The event queue, the virtual clock (microseconds) and the run's trace hash. */
export class Scheduler {
  readonly random: SeededRandom;
  private nowUsValue = 0;
  private nextSeq = 0;
  /** Equal times run in the order they were scheduled. */
  private readonly heap = new EventHeap<QueuedEvent>((e) => e.atUs);
  private readonly hash: Hash = createHash('sha256');
  private readonly recent: string[] = [];
  private readonly recentMax: number;
  /** Called after every instant's drain (the checkers). */
  afterInstant: (() => void) | null = null;
  /**
   * Called when an event owned by a node throws (a broken invariant is an assertion that crashes
   * its process). Without a handler, or for an event without owner, the error ends the run.
   */
  onNodeError: ((owner: string, label: string, error: unknown) => void) | null = null;
  eventsRun = 0;
  readonly budget: RunBudget;

  constructor(seed: number, options: { recentTraceLines?: number; budget?: RunBudget } = {}) {
    this.random = new SeededRandom(seed);
    this.recentMax = options.recentTraceLines ?? 200;
    this.budget = options.budget ?? DEFAULT_RUN_BUDGET;
  }

  get nowUs(): number {
    return this.nowUsValue;
  }

  get nowMs(): number {
    return this.nowUsValue / 1000;
  }

  /** Schedules `run` after `delayUs` of virtual time (0: at this instant, after what is queued). */
  after(delayUs: number, label: string, run: () => void | Promise<void>, owner: string | null = null): EventHandle {
    if (!Number.isInteger(delayUs) || delayUs < 0) throw new TypeError(`after: delayUs must be a non-negative integer, got ${delayUs}`);
    const e: QueuedEvent = { atUs: this.nowUsValue + delayUs, seq: this.nextSeq++, label, run, owner, cancelled: false };
    this.heap.push(e);
    return { cancel: () => void (e.cancelled = true) };
  }

  /** Adds a line to the trace: its hash identifies the run; the last lines explain a failure. */
  trace(line: string): void {
    const stamped = `${this.nowUsValue} ${line}`;
    this.hash.update(stamped).update('\n');
    this.recent.push(stamped);
    if (this.recent.length > this.recentMax) this.recent.shift();
  }

  traceHash(): string {
    return this.hash.copy().digest('hex');
  }

  recentTrace(): readonly string[] {
    return this.recent;
  }

  /**
   * Runs every event due at the next instant, then drains. Returns false when the queue is empty
   * or the next instant lies beyond `untilUs` (after draining once: work started outside any
   * event, e.g. a node starting, gets its rounds too).
   */
  async step(untilUs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const next = this.peekLive();
    if (!next || next.atUs > untilUs) {
      await this.drain();
      return false;
    }
    if (next.atUs > this.budget.virtualUsMax) throw new RunBudgetExceeded(this.budget, this.eventsRun, next.atUs);
    this.nowUsValue = next.atUs;
    while (this.heap.peek()?.atUs === this.nowUsValue) {
      if (this.eventsRun >= this.budget.eventsMax) throw new RunBudgetExceeded(this.budget, this.eventsRun, this.nowUsValue);
      const e = this.heap.pop()!;
      if (e.cancelled) continue;
      this.eventsRun++;
      this.hash.update(`${e.atUs} ${e.label}\n`); // hashed, not kept: ticks would flood the recent lines
      try {
        await e.run();
      } catch (error) {
        if (e.owner === null || !this.onNodeError) throw error;
        this.onNodeError(e.owner, e.label, error);
      }
    }
    await this.drain();
    this.afterInstant?.();
    return true;
  }

  /** The next event that was not cancelled (cancelled ones are dropped on the way). */
  private peekLive(): QueuedEvent | undefined {
    let next = this.heap.peek();
    while (next?.cancelled) {
      this.heap.pop();
      next = this.heap.peek();
    }
    return next;
  }

  private async drain(): Promise<void> {
    for (let i = 0; i < DRAIN_ROUNDS; i++) await drainRound();
  }

  /** Runs until virtual time `untilUs` (the clock ends there even if the queue empties first). */
  async runUntil(untilUs: number): Promise<void> {
    while (await this.step(untilUs));
    if (this.nowUsValue < untilUs) this.nowUsValue = untilUs;
  }

  /**
   * Runs until `done()` holds (checked after each instant) or `maxUs` of virtual time pass. While
   * the queue is empty (a process starting before its first timer), it waits up to
   * `IDLE_WAIT_MAX_MS` of real time for that work before time jumps to the deadline.
   */
  async runUntilTrue(done: () => boolean, maxUs: number): Promise<boolean> {
    const deadline = this.nowUsValue + maxUs;
    let idle = 0;
    while (!done()) {
      if (await this.step(deadline)) continue;
      const next = this.peekLive();
      if (next && next.atUs <= deadline) continue; // scheduled during the drain
      if (!next && ++idle < IDLE_WAIT_MAX_MS) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      this.nowUsValue = Math.max(this.nowUsValue, deadline);
      return done();
    }
    return true;
  }
}

/** Real milliseconds runUntilTrue waits while nothing is scheduled. */
const IDLE_WAIT_MAX_MS = 5_000;

/**
 * One node's clock on virtual time. `rate` models skew: a node whose clock runs at 1.05 fires its
 * intervals 5% sooner in virtual time (timeouts are all measured in local ticks, Raft §5.2/§9.3).
 * `stopAll()` is the power cord: every timer stops and later ones never start.
 *
 * `freeze()` / `thaw()` model a process stall (a GC pause, a starved or paused VM): while frozen no
 * timer callback runs. On thaw every interval that came due runs ONCE, at once, in creation order,
 * and then keeps its period from there: the ticks it missed are skipped, as Node's setInterval
 * skips them (lib/internal/timers.js reschedules a late interval from when it ran).
 */
export class SimClock implements Clock {
  private readonly timers = new Set<SimInterval>();
  private stopped = false;
  private frozen = false;

  constructor(
    private readonly scheduler: Scheduler,
    readonly label: string,
    readonly rate: number,
  ) {
    if (!(rate > 0)) throw new TypeError(`SimClock: rate must be positive, got ${rate}`);
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  setInterval(callback: () => void, intervalMs: number): ClockTimer {
    if (!(intervalMs > 0)) throw new TypeError(`setInterval: intervalMs must be positive, got ${intervalMs}`);
    if (this.stopped) return { cancel: () => {} };
    const t: SimInterval = { callback, periodUs: Math.max(1, Math.round((intervalMs * 1000) / this.rate)), handle: null, due: false };
    this.timers.add(t);
    this.arm(t, t.periodUs);
    return {
      cancel: () => {
        t.handle?.cancel();
        this.timers.delete(t);
      },
    };
  }

  private arm(t: SimInterval, delayUs: number): void {
    t.handle = this.scheduler.after(
      delayUs,
      `tick ${this.label}`,
      () => {
        t.handle = null;
        if (this.stopped) return;
        if (this.frozen) return void (t.due = true);
        this.arm(t, t.periodUs);
        t.callback();
      },
      this.label,
    );
  }

  /** The process stops running: timers that come due wait for {@link thaw}. */
  freeze(): void {
    this.frozen = true;
  }

  /** The process runs again: each interval that came due fires once now, then every period. */
  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    if (this.stopped) return;
    for (const t of this.timers) {
      if (!t.due) continue;
      t.due = false;
      this.arm(t, 0);
    }
  }

  stopAll(): void {
    this.stopped = true;
    for (const t of this.timers) t.handle?.cancel();
    this.timers.clear();
  }
}

interface SimInterval {
  callback: () => void;
  periodUs: number;
  /** The pending tick; null while a frozen clock owes it. */
  handle: EventHandle | null;
  /** It came due while the clock was frozen. */
  due: boolean;
}
