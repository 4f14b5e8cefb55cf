// A simulated power cut, shared by the bare two-tier cluster and the PKI cluster.
import type { SimDisk } from './sim-storage.ts';
import type { SimNetwork } from './sim-network.ts';
import type { Scheduler, SimClock } from './virtual-time.ts';

/** What a simulated node process holds that a power cut takes away. */
export interface PoweredNode {
  readonly id: string;
  alive: boolean;
  clock: SimClock | null;
  disk: SimDisk;
  incarnation: number;
}

/** Timers stop, endpoints close, unsynced writes are lost. False when the node was already down. */
export function cutPower(n: PoweredNode, network: SimNetwork, scheduler: Scheduler): boolean {
  if (!n.alive) return false;
  n.alive = false;
  n.clock?.stopAll();
  network.disconnect(n.id);
  n.disk.crash();
  scheduler.trace(`crash ${n.id}#${n.incarnation}`);
  return true;
}
