import { expect } from 'chai';
import { MemoryNetwork } from '../src/memory-transport.ts';
import { MemoryStorage } from '../src/memory-storage.ts';
import { DriverError } from '../src/driver-requests.ts';
import { NodeDriver } from '../src/node-driver.ts';
import { ManualClock } from '../src/clock.ts';
import { SeededRandom } from '../src/random.ts';
import { ListStateMachine, TestCluster, eventually, sleep } from './driver-cluster.ts';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

async function rejection(p: Promise<unknown>): Promise<DriverError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof DriverError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('NodeDriver: single-node group', () => {
  it('campaigns, persists a proposal before applying it, and resolves with index, term and apply result', async () => {
    const trace: string[] = [];
    const storage = new MemoryStorage();
    const save = storage.save.bind(storage);
    storage.save = async (write, options) => {
      await save(write, options);
      for (const e of write.entries ?? []) trace.push(`persist ${e.index} sync=${options.sync}`);
    };
    const sm = new ListStateMachine();
    const apply = sm.apply.bind(sm);
    sm.apply = (entries) => {
      for (const e of entries) trace.push(`apply ${e.index}`);
      return apply(entries);
    };
    const driver = await NodeDriver.start<number>({
      id: 'solo',
      storage,
      transport: new MemoryNetwork().endpoint('solo'),
      stateMachine: sm,
      tickMs: 5,
      random: new SeededRandom(7),
      initialConfState: { voters: ['solo'], learners: [], votersOutgoing: [] },
    });
    try {
      const roles: string[] = [];
      driver.on('roleChange', (e) => roles.push(e.role));
      driver.campaign();
      await eventually('leadership', () => driver.status().role === 'leader');
      const applied = await driver.propose(bytes('hello'));
      expect(applied.term).to.equal(driver.status().term);
      expect(applied.result).to.equal(1);
      expect(sm.items).to.deep.equal(['hello']);
      expect(roles).to.include('leader');
      const persisted = trace.indexOf(`persist ${applied.index} sync=true`);
      expect(persisted).to.be.greaterThan(-1);
      expect(trace.indexOf(`apply ${applied.index}`)).to.be.greaterThan(persisted);
    } finally {
      await driver.stop();
    }
  });

  it('ticks only through the injected clock', async () => {
    const clock = new ManualClock();
    const driver = await NodeDriver.start({
      id: 'solo',
      storage: new MemoryStorage(),
      transport: new MemoryNetwork().endpoint('solo'),
      stateMachine: new ListStateMachine(),
      tickMs: 100,
      clock,
      random: new SeededRandom(3),
      initialConfState: { voters: ['solo'], learners: [], votersOutgoing: [] },
    });
    try {
      await sleep(60);
      expect(driver.status().role).to.equal('follower'); // no real time passes for it
      clock.advance(100 * 25); // past any randomized election timeout in [10, 20) ticks
      await eventually('election', () => driver.status().role === 'leader');
    } finally {
      await driver.stop();
    }
  });
});

describe('NodeDriver: three-node group on memory storage', function () {
  this.timeout(30_000);
  let cluster: TestCluster;
  beforeEach(async () => {
    cluster = await TestCluster.start(['a', 'b', 'c'], { storage: 'memory', seed: 11 });
  });
  afterEach(async () => {
    await cluster.close();
  });

  it('Raft §5.2: elects one leader and reports it to every node through leaderChange events', async () => {
    const seen = new Map<string, string | null>();
    for (const n of cluster.nodes.values()) n.driver.on('leaderChange', (e) => seen.set(n.id, e.leaderId));
    const leader = await cluster.waitLeader();
    await eventually('events', () => [...seen.values()].filter((l) => l === leader.id).length === 3);
  });

  it('Raft §5.3: a proposal resolves once applied on the leader and reaches every replica in order', async () => {
    const leader = await cluster.waitLeader();
    const results = await Promise.all(['x', 'y', 'z'].map((t) => leader.driver.propose(bytes(t))));
    expect(results.map((r) => r.index)).to.deep.equal([results[0]!.index, results[0]!.index + 1, results[0]!.index + 2]);
    await cluster.waitApplied(results[2]!.index);
    for (const n of cluster.nodes.values()) expect(n.sm.items).to.deep.equal(['x', 'y', 'z']);
  });

  it('refuses proposals on a follower with ERR_NOT_LEADER naming the leader', async () => {
    const leader = await cluster.waitLeader();
    const follower = [...cluster.nodes.values()].find((n) => n.id !== leader.id)!;
    const error = await rejection(follower.driver.propose(bytes('nope')));
    expect(error.code).to.equal('ERR_NOT_LEADER');
    expect(error.leaderId).to.equal(leader.id);
  });

  it('thesis §6.4 ReadIndex: a read on a follower after an acknowledged write observes it', async () => {
    const leader = await cluster.waitLeader();
    const follower = [...cluster.nodes.values()].find((n) => n.id !== leader.id)!;
    await leader.driver.propose(bytes('w1'));
    await follower.driver.readIndex();
    expect(follower.sm.items).to.include('w1');
    await leader.driver.readIndex();
    expect(leader.sm.items).to.include('w1');
  });

  it('a proposal of a deposed leader that a new leader overwrote rejects with ERR_PROPOSAL_OVERWRITTEN', async () => {
    const old = await cluster.waitLeader();
    await cluster.propose('before');
    cluster.network.isolate(old.id);
    const lost = old.driver.propose(bytes('lost'));
    const others = [...cluster.nodes.values()].filter((n) => n.id !== old.id);
    await eventually('new leader', () => others.some((n) => n.driver.status().role === 'leader'));
    const fresh = others.find((n) => n.driver.status().role === 'leader')!;
    await fresh.driver.propose(bytes('after'));
    cluster.network.heal();
    const error = await rejection(lost);
    expect(error.code).to.equal('ERR_PROPOSAL_OVERWRITTEN');
    await eventually('old leader catches up', () => old.sm.items.includes('after'));
    expect(old.sm.items).to.not.include('lost');
  });

  it('leadership transfer moves the leader to the named voter (thesis §3.10)', async () => {
    const leader = await cluster.waitLeader();
    const target = [...cluster.nodes.keys()].find((id) => id !== leader.id)!;
    await leader.driver.propose(bytes('t'));
    await cluster.waitApplied(leader.driver.status().appliedIndex);
    await leader.driver.transferLeadership(target);
    expect((await cluster.waitLeader()).id).to.equal(target);
  });

  it('stop() rejects waiting requests with ERR_STOPPED and refuses new ones', async () => {
    const leader = await cluster.waitLeader();
    for (const n of cluster.nodes.values()) if (n.id !== leader.id) cluster.network.isolate(n.id);
    const pending = leader.driver.propose(bytes('never-committed'));
    await leader.driver.stop();
    expect((await rejection(pending)).code).to.equal('ERR_STOPPED');
    expect((await rejection(leader.driver.propose(bytes('late')))).code).to.equal('ERR_STOPPED');
    cluster.nodes.delete(leader.id);
  });
});

describe('NodeDriver: membership and compaction', function () {
  this.timeout(30_000);

  it('Raft §6 / thesis §4.2.1: adds a learner that catches up, promotes it, then removes the old leader', async () => {
    const cluster = await TestCluster.start(['a', 'b', 'c'], { storage: 'memory', seed: 5 });
    try {
      const leader = await cluster.waitLeader();
      await cluster.propose('one');
      await leader.driver.addLearner('d');
      const d = await cluster.startNode('d', { voters: ['a', 'b', 'c'], learners: ['d'], votersOutgoing: [] });
      await eventually('learner catches up', () => d.sm.items.includes('one'));
      expect(d.driver.status().role).to.equal('follower');
      await leader.driver.promote('d');
      expect(leader.driver.status().confState.voters).to.include('d');
      await leader.driver.remove(leader.id);
      const rest = ['a', 'b', 'c', 'd'].filter((id) => id !== leader.id).map((id) => cluster.node(id));
      await eventually('a new leader among the remaining voters', () => rest.some((n) => n.driver.status().role === 'leader'));
      const next = rest.find((n) => n.driver.status().role === 'leader')!;
      expect(leader.driver.status().role).to.not.equal('leader');
      await next.driver.propose(bytes('two'));
      await eventually('replicated to d', () => d.sm.items.includes('two'));
      expect(next.driver.status().confState.voters).to.not.include(leader.id);
    } finally {
      await cluster.close();
    }
  });

  it('Raft §7: snapshots every N entries, and a lagging follower catches up from a snapshot', async () => {
    const cluster = await TestCluster.start(['a', 'b', 'c'], { storage: 'memory', seed: 9, snapshotEveryEntries: 20 });
    try {
      const leader = await cluster.waitLeader();
      const lagging = [...cluster.nodes.values()].find((n) => n.id !== leader.id)!;
      cluster.network.isolate(lagging.id);
      for (let i = 0; i < 60; i++) await leader.driver.propose(bytes(`e${i}`));
      expect(leader.driver.status().snapshotIndex).to.be.at.least(40);
      const snapshots: number[] = [];
      lagging.driver.on('snapshot', (e) => snapshots.push(e.index));
      cluster.network.heal();
      await eventually('follower caught up', () => lagging.sm.items.length === 60);
      expect(lagging.sm.items).to.deep.equal(leader.sm.items);
      expect(snapshots.length).to.be.at.least(1);
    } finally {
      await cluster.close();
    }
  });
});

describe('NodeDriver: failures and recovery paths', function () {
  this.timeout(30_000);

  it('requests cut off from a quorum reject after requestTimeoutTicks: ERR_PROPOSAL_TIMEOUT, ERR_READ_TIMEOUT', async () => {
    const cluster = await TestCluster.start(['a', 'b', 'c'], {
      storage: 'memory',
      seed: 31,
      driver: { requestTimeoutTicks: 30 },
    });
    try {
      const leader = await cluster.waitLeader();
      cluster.network.isolate(leader.id);
      const error = await rejection(leader.driver.propose(bytes('stuck')));
      expect(error.code).to.equal('ERR_PROPOSAL_TIMEOUT');
      // A follower cut off right after learning its leader forwards the read into the void.
      cluster.network.heal();
      const current = await cluster.waitLeader();
      const follower = [...cluster.nodes.values()].find((n) => n.id !== current.id)!;
      cluster.network.isolate(follower.id);
      const readError = await rejection(follower.driver.readIndex());
      expect(readError.code).to.equal('ERR_READ_TIMEOUT');
    } finally {
      await cluster.close();
    }
  });

  it('a storage failure stops the driver: fatal event, waiting proposals reject with ERR_DRIVER_FAILED', async () => {
    const storage = new MemoryStorage();
    const save = storage.save.bind(storage);
    let broken = false;
    storage.save = async (write, options) => {
      if (broken) throw new Error('disk full');
      return save(write, options);
    };
    const driver = await NodeDriver.start({
      id: 'solo',
      storage,
      transport: new MemoryNetwork().endpoint('solo'),
      stateMachine: new ListStateMachine(),
      tickMs: 5,
      random: new SeededRandom(2),
      initialConfState: { voters: ['solo'], learners: [], votersOutgoing: [] },
    });
    const fatal: Error[] = [];
    driver.on('fatal', (e) => fatal.push(e.error));
    driver.campaign();
    await eventually('leadership', () => driver.status().role === 'leader');
    await driver.propose(bytes('ok'));
    broken = true;
    const error = await rejection(driver.propose(bytes('lost')));
    expect(error.code).to.equal('ERR_DRIVER_FAILED');
    expect(fatal.map((e) => e.message)).to.deep.equal(['disk full']);
    expect(driver.status().stopped).to.equal(true);
    expect((await rejection(driver.propose(bytes('after')))).code).to.equal('ERR_DRIVER_FAILED');
    await driver.stop();
  });

  it('a state machine that persists its applied index is not restored or re-applied on restart', async () => {
    class DurableList extends ListStateMachine {
      applied = 0;
      override apply(entries: readonly import('../src/types.ts').Entry[]): number[] {
        this.applied = entries[entries.length - 1]!.index;
        return super.apply(entries);
      }
      appliedIndex(): number {
        return this.applied;
      }
    }
    const storage = new MemoryStorage();
    const sm = new DurableList(); // survives the restart, as a LevelDB-backed state would
    const start = (): Promise<NodeDriver<number>> =>
      NodeDriver.start<number>({
        id: 'solo',
        storage: storage.reopen(),
        transport: new MemoryNetwork().endpoint('solo'),
        stateMachine: sm,
        tickMs: 5,
        random: new SeededRandom(4),
        initialConfState: { voters: ['solo'], learners: [], votersOutgoing: [] },
        snapshotEveryEntries: 5,
      });
    let driver = await start();
    driver.campaign();
    await eventually('leadership', () => driver.status().role === 'leader');
    for (let i = 0; i < 12; i++) await driver.propose(bytes(`d${i}`));
    await driver.stop();
    const snapshotIndex = (await storage.reopen().load()).snapshot?.metadata.index ?? 0;
    expect(snapshotIndex).to.be.greaterThan(0);
    await storage.close();

    driver = await start();
    try {
      expect(sm.restores).to.equal(0);
      expect(driver.status().appliedIndex).to.equal(sm.applied);
      driver.campaign();
      await eventually('leadership', () => driver.status().role === 'leader');
      await driver.propose(bytes('d12'));
      expect(sm.items).to.deep.equal(Array.from({ length: 13 }, (_, i) => `d${i}`));
    } finally {
      await driver.stop();
    }
  });
});
