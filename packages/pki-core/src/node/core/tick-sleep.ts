// Waiting in ticks of the node's clock, so a wait is virtual time in the simulator.
import { systemClock, type Clock } from '@adrestia/consensus';

/** Resolves after `n` ticks of `options.clock` (the system clock unless one is injected). */
export function sleepTicks(options: { readonly clock?: Clock; readonly tickMs: number }, n: number): Promise<void> {
  return new Promise((resolve) => {
    const t = (options.clock ?? systemClock).setInterval(() => {
      t.cancel();
      resolve();
    }, options.tickMs * n);
  });
}
