// Test harness for driver.test.ts and crash-recovery.test.ts: a Raft group of real NodeDrivers in
// one process, on LevelDB (a directory per node) or MemoryStorage, over a MemoryNetwork, with a
// fast real-time tick. "Crashing" a node abandons its driver abruptly: its timers stop, its
// endpoint disconnects and its database closes under it; a restart reopens the same directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock, type ClockTimer } from '../src/clock.ts';
import { decodeValue, encodeValue } from '../src/codec.ts';
import { LevelStorage } from '../src/level-storage.ts';
import { MemoryNetwork } from '../src/memory-transport.ts';
import { MemoryStorage } from '../src/memory-storage.ts';
import { NodeDriver, type NodeDriverOptions, type StateMachine } from '../src/node-driver.ts';
import { SeededRandom } from '../src/random.ts';
import type { Storage } from '../src/storage.ts';
import type { ConfState, Entry, NodeId } from '../src/types.ts';

/** Records every applied payload in order; the snapshot is that whole list. */
export class ListStateMachine implements StateMachine<number> {
  items: string[] = [];
  restores = 0;

  apply(entries: readonly Entry[]): number[] {
    return entries.map((e) => {
      if (e.type === 'normal' && e.data.byteLength > 0) this.items.push(new TextDecoder().decode(e.data));
      return this.items.length;
    });
  }

  snapshot(): Uint8Array {
    return encodeValue(this.items);
  }

  restore(data: Uint8Array): void {
    this.items = decodeValue(data) as string[];
    this.restores++;
  }
}

/** systemClock, but every timer it made can be cancelled at once (the node's "power cord"). */
export class StoppableClock implements Clock {
  private readonly timers = new Set<ClockTimer>();
  setInterval(callback: () => void, intervalMs: number): ClockTimer {
    const timer = systemClock.setInterval(callback, intervalMs);
    this.timers.add(timer);
    return { cancel: () => (timer.cancel(), this.timers.delete(timer)) };
  }
  stopAll(): void {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
  }
}

export interface ClusterNode {
  id: NodeId;
  driver: NodeDriver<number>;
  sm: ListStateMachine;
  storage: Storage;
  clock: StoppableClock;
  fatal: Error[];
}

export interface ClusterOptions {
  storage: 'level' | 'memory';
  tickMs?: number;
  snapshotEveryEntries?: number;
  seed?: number;
  driver?: Partial<NodeDriverOptions<number>>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until true; fails the test after `maxMs` instead of hanging (not a speed check). */
export async function eventually(what: string, cond: () => boolean, maxMs = 15_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 5) {
    if (waited > maxMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export class TestCluster {
  readonly network = new MemoryNetwork();
  readonly nodes = new Map<NodeId, ClusterNode>();
  private readonly memoryDisks = new Map<NodeId, MemoryStorage>();
  private readonly random: SeededRandom;

  private constructor(
    readonly dir: string,
    readonly voters: NodeId[],
    private readonly options: ClusterOptions,
  ) {
    this.random = new SeededRandom(options.seed ?? 1);
  }

  static async start(voters: NodeId[], options: ClusterOptions): Promise<TestCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'adrestia-raft-'));
    const cluster = new TestCluster(dir, voters, options);
    for (const id of voters) await cluster.startNode(id);
    return cluster;
  }

  node(id: NodeId): ClusterNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`node ${id} is not running`);
    return n;
  }

  async startNode(id: NodeId, initialConfState?: ConfState): Promise<ClusterNode> {
    const storage = await this.openStorage(id);
    const sm = new ListStateMachine();
    const clock = new StoppableClock();
    const driver = await NodeDriver.start<number>({
      id,
      storage,
      transport: this.network.endpoint(id),
      stateMachine: sm,
      tickMs: this.options.tickMs ?? 5,
      clock,
      random: this.random.fork(),
      raft: { electionTimeoutTicks: 10, heartbeatIntervalTicks: 1 },
      initialConfState: initialConfState ?? { voters: this.voters, learners: [], votersOutgoing: [] },
      snapshotEveryEntries: this.options.snapshotEveryEntries ?? 0,
      ...this.options.driver,
    });
    const node: ClusterNode = { id, driver, sm, storage, clock, fatal: [] };
    driver.on('fatal', (e) => node.fatal.push(e.error));
    this.nodes.set(id, node);
    return node;
  }

  /** Abrupt stop: no graceful shutdown, in-flight work is abandoned, the disk is closed under it. */
  async crash(id: NodeId): Promise<void> {
    const node = this.node(id);
    this.nodes.delete(id);
    node.clock.stopAll();
    await this.network.endpointOf(id)?.close();
    await node.storage.close();
    // Its clients see the connection drop: waiting requests reject (ERR_STOPPED), nothing more runs.
    await node.driver.stop();
  }

  async restart(id: NodeId, initialConfState?: ConfState): Promise<ClusterNode> {
    await this.crash(id);
    return this.startNode(id, initialConfState);
  }

  leaders(): ClusterNode[] {
    return [...this.nodes.values()].filter((n) => n.driver.status().role === 'leader');
  }

  /** Waits until exactly one running node leads and every running node knows it. */
  async waitLeader(maxMs?: number): Promise<ClusterNode> {
    let leader: ClusterNode | undefined;
    await eventually(
      'a single leader known to all',
      () => {
        const ls = this.leaders();
        leader = ls.length === 1 ? ls[0] : undefined;
        return !!leader && [...this.nodes.values()].every((n) => n.driver.status().leaderId === leader!.id);
      },
      maxMs,
    );
    return leader!;
  }

  /** Proposes on whichever node leads, retrying through elections; resolves once applied there. */
  async propose(text: string): Promise<{ index: number; term: number }> {
    const data = new TextEncoder().encode(text);
    for (let attempt = 0; ; attempt++) {
      const leader = this.leaders()[0];
      try {
        if (!leader) throw new Error('no leader yet');
        return await leader.driver.propose(data);
      } catch (error) {
        if (attempt > 400) throw error;
        await sleep(10);
      }
    }
  }

  async waitApplied(index: number, ids: NodeId[] = [...this.nodes.keys()]): Promise<void> {
    await Promise.all(ids.map((id) => this.node(id).driver.waitApplied(index)));
  }

  async close(): Promise<void> {
    for (const n of this.nodes.values()) await n.driver.stop();
    this.nodes.clear();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async openStorage(id: NodeId): Promise<Storage> {
    if (this.options.storage === 'level') return LevelStorage.open(join(this.dir, id));
    let disk = this.memoryDisks.get(id);
    if (!disk) this.memoryDisks.set(id, (disk = new MemoryStorage()));
    return disk.reopen();
  }
}
