// Test harness for the two-tier design: AZs of real TwoTierNodes in one process, over in-memory
// networks (one for local groups, one for seats), MemoryStorage, real timers with a fast tick.
import { decodeValue, encodeValue } from '../src/codec.ts';
import { validateRaftConfig } from '../src/config.ts';
import { MemoryNetwork } from '../src/memory-transport.ts';
import { MemoryStorage } from '../src/memory-storage.ts';
import { SeededRandom } from '../src/random.ts';
import { MemorySeatNetwork } from '../src/two-tier/memory-seat-network.ts';
import { TwoTierNode, type CommandMeta, type TwoTierApplication } from '../src/two-tier/two-tier-node.ts';
import type { ConfState } from '../src/types.ts';
import { StoppableClock } from './driver-cluster.ts';

interface AppliedCommand {
  seq: number;
  tier: 'local' | 'global';
  az: string;
  text: string;
}

/** Records every command in apply order; its snapshot is the whole list. */
class ListApp implements TwoTierApplication<number> {
  items: AppliedCommand[] = [];
  apply(data: Uint8Array, meta: CommandMeta): number {
    this.items.push({ seq: meta.seq, tier: meta.tier, az: meta.az, text: new TextDecoder().decode(data) });
    return meta.seq;
  }
  snapshot(): Uint8Array {
    return encodeValue(this.items);
  }
  restore(data: Uint8Array): void {
    this.items = decodeValue(data) as AppliedCommand[];
  }
  reset(): void {
    this.items = [];
  }
  globals(): string[] {
    return this.items.filter((i) => i.tier === 'global').map((i) => i.text);
  }
}

export interface HarnessNode {
  id: string;
  az: string;
  node: TwoTierNode<number>;
  app: ListApp;
  storage: MemoryStorage;
  clock: StoppableClock;
  alive: boolean;
}

const TICK_MS = 5;
const GLOBAL_RAFT = validateRaftConfig({ electionTimeoutTicks: 40, heartbeatIntervalTicks: 4 });
const LOCAL_RAFT = { electionTimeoutTicks: 10, heartbeatIntervalTicks: 1 };

export class TwoTierHarness {
  readonly localNet = new MemoryNetwork();
  readonly seatNet = new MemorySeatNetwork();
  readonly nodes = new Map<string, HarnessNode>();
  private seed = 1;

  async startNode(
    id: string,
    az: string,
    init: { local?: ConfState; global?: ConfState; seatHeld?: boolean } = {},
    storage = new MemoryStorage(),
  ): Promise<HarnessNode> {
    const app = new ListApp();
    const clock = new StoppableClock();
    const node = await TwoTierNode.start<number>({
      nodeId: id,
      az,
      storage,
      localTransport: this.localNet.endpoint(id),
      seatTransport: this.seatNet.endpoint(az, id),
      app,
      localRaft: LOCAL_RAFT,
      globalRaft: GLOBAL_RAFT,
      tickMs: TICK_MS,
      clock,
      random: new SeededRandom(this.seed++),
      ...(init.local ? { localInitialConfState: init.local } : {}),
      ...(init.global ? { globalInitialConfState: init.global } : {}),
      ...(init.seatHeld ? { seatHeld: true } : {}),
    });
    const h: HarnessNode = { id, az, node, app, storage, clock, alive: true };
    this.nodes.set(id, h);
    return h;
  }

  /** Power cut: timers stop, endpoints disconnect; MemoryStorage keeps what was saved. */
  async crash(id: string): Promise<void> {
    const h = this.nodes.get(id)!;
    h.alive = false;
    h.clock.stopAll();
    await h.node.stop();
  }

  async restart(id: string): Promise<HarnessNode> {
    const h = this.nodes.get(id)!;
    return this.startNode(id, h.az, {}, h.storage.reopen());
  }

  localLeaderOf(az: string): HarnessNode | null {
    for (const h of this.nodes.values()) if (h.alive && h.az === az && h.node.hasLocalLease()) return h;
    return null;
  }

  globalLeader(): HarnessNode | null {
    for (const h of this.nodes.values()) if (h.alive && h.node.isGlobalLeader()) return h;
    return null;
  }

  alive(): HarnessNode[] {
    return [...this.nodes.values()].filter((h) => h.alive);
  }

  async stopAll(): Promise<void> {
    for (const h of this.nodes.values()) {
      if (!h.alive) continue;
      h.alive = false;
      h.clock.stopAll();
      await h.node.stop();
    }
  }
}

export async function waitUntil<T>(what: string, fn: () => T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Retries an operation that may fail while leaders change (as a client would). */
export async function retry<T>(what: string, op: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await op();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`${what}: gave up: ${String(last)}`);
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
