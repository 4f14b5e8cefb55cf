// Time enters the driver only through this interface (consensus cores never read clocks): the
// server uses real timers, tests may use a clock they can stop, the simulator uses virtual time.

export interface ClockTimer {
  cancel(): void;
}

export interface Clock {
  /** Calls `callback` every `intervalMs` until the returned timer is cancelled. */
  setInterval(callback: () => void, intervalMs: number): ClockTimer;
}

/** Node's timers. */
export const systemClock: Clock = {
  setInterval(callback: () => void, intervalMs: number): ClockTimer {
    if (!(intervalMs > 0)) throw new TypeError(`setInterval: intervalMs must be positive, got ${intervalMs}`);
    const handle = setInterval(callback, intervalMs);
    return { cancel: () => clearInterval(handle) };
  },
};

/** A clock driven by hand: `advance(ms)` fires every interval that falls due, in time order. */
export class ManualClock implements Clock {
  private nowMs = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { callback: () => void; intervalMs: number; dueMs: number }>();

  get now(): number {
    return this.nowMs;
  }

  setInterval(callback: () => void, intervalMs: number): ClockTimer {
    if (!(intervalMs > 0)) throw new TypeError(`setInterval: intervalMs must be positive, got ${intervalMs}`);
    const id = this.nextId++;
    this.timers.set(id, { callback, intervalMs, dueMs: this.nowMs + intervalMs });
    return { cancel: () => this.timers.delete(id) };
  }

  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      let next: { id: number; dueMs: number } | null = null;
      for (const [id, t] of this.timers) if (t.dueMs <= target && (!next || t.dueMs < next.dueMs)) next = { id, dueMs: t.dueMs };
      if (!next) break;
      const timer = this.timers.get(next.id)!;
      this.nowMs = timer.dueMs;
      timer.dueMs += timer.intervalMs;
      timer.callback();
    }
    this.nowMs = target;
  }
}
