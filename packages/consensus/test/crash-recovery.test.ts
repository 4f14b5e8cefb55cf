import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LevelStorage } from '../src/level-storage.ts';
import { MemoryNetwork } from '../src/memory-transport.ts';
import { NodeDriver } from '../src/node-driver.ts';
import { SeededRandom } from '../src/random.ts';
import { ListStateMachine, TestCluster, eventually, sleep, type ClusterNode } from './driver-cluster.ts';

/** Every acknowledged item appears on the node, in acknowledgement order where acks were sequential. */
function expectHasAll(node: ClusterNode, acked: readonly string[]): void {
  const missing = acked.filter((a) => !node.sm.items.includes(a));
  expect(missing, `${node.id} lost acknowledged entries`).to.deep.equal([]);
}

async function converge(cluster: TestCluster, acked: readonly string[]): Promise<void> {
  await eventually('every node has every acknowledged entry', () =>
    [...cluster.nodes.values()].every((n) => acked.every((a) => n.sm.items.includes(a))),
  );
  // State machine safety: replicas applied the same entries in the same order.
  const lists = [...cluster.nodes.values()].map((n) => n.sm.items);
  const shortest = Math.min(...lists.map((l) => l.length));
  for (const l of lists) expect(l.slice(0, shortest)).to.deep.equal(lists[0]!.slice(0, shortest));
}

describe('Crash recovery on LevelDB (Raft §5.1 persistent state, §5.4 safety)', function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  afterEach(async () => {
    await cluster.close();
  });

  it('a crashed follower recovers term, vote and log from disk and catches up; nothing acknowledged is lost', async () => {
    cluster = await TestCluster.start(['a', 'b', 'c'], { storage: 'level', seed: 21 });
    const leader = await cluster.waitLeader();
    const acked: string[] = [];
    for (let i = 0; i < 30; i++) acked.push((await cluster.propose(`p${i}`), `p${i}`));
    const follower = [...cluster.nodes.values()].find((n) => n.id !== leader.id)!;
    await follower.driver.waitApplied(leader.driver.status().commit);
    const before = follower.driver.status();
    await cluster.crash(follower.id);
    for (let i = 30; i < 60; i++) acked.push((await cluster.propose(`p${i}`), `p${i}`));

    const back = await cluster.startNode(follower.id);
    const recovered = back.driver.status();
    expect(recovered.term).to.equal(before.term);
    expect(recovered.vote).to.equal(before.vote);
    expect(recovered.lastIndex).to.be.at.least(before.lastIndex);
    expect(recovered.commit).to.be.at.least(before.appliedIndex);
    await converge(cluster, acked);
    expect(back.sm.items.slice(0, 60)).to.deep.equal(acked);
  });

  it('crashing the leader under load: a new leader takes over and every acknowledged entry survives', async () => {
    cluster = await TestCluster.start(['a', 'b', 'c'], { storage: 'level', seed: 22 });
    const old = await cluster.waitLeader();
    const acked: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const text = `w${w}-${i}`;
        await cluster.propose(text).then(() => acked.push(text));
      }
    });
    await eventually('some acknowledged writes', () => acked.length >= 20);
    await cluster.crash(old.id);
    const ackedAtCrash = acked.length;
    const next = await cluster.waitLeader();
    expect(next.id).to.not.equal(old.id);
    await eventually('writes continue under the new leader', () => acked.length >= ackedAtCrash + 20);
    stop = true;
    await Promise.all(writers);
    await cluster.startNode(old.id);
    await converge(cluster, acked);
    for (const n of cluster.nodes.values()) expectHasAll(n, acked);
    expect(cluster.node(old.id).fatal.length).to.equal(0); // the restarted incarnation is healthy
  });

  it('a whole-group crash and restart recovers the committed log from disk and makes progress', async () => {
    cluster = await TestCluster.start(['a', 'b', 'c'], { storage: 'level', seed: 23 });
    await cluster.waitLeader();
    const acked: string[] = [];
    for (let i = 0; i < 40; i++) acked.push((await cluster.propose(`g${i}`), `g${i}`));
    const terms = new Map([...cluster.nodes.values()].map((n) => [n.id, n.driver.status().term]));
    for (const id of ['a', 'b', 'c']) await cluster.crash(id);
    await sleep(20);
    for (const id of ['a', 'b', 'c']) await cluster.startNode(id);
    for (const n of cluster.nodes.values()) expect(n.driver.status().term).to.equal(terms.get(n.id));
    await cluster.waitLeader();
    await cluster.propose('after-restart');
    await converge(cluster, [...acked, 'after-restart']);
    for (const n of cluster.nodes.values()) expect(n.sm.items.slice(0, 40)).to.deep.equal(acked);
  });

  it('Raft §7: compacted nodes restart from their snapshot plus the log after it', async () => {
    cluster = await TestCluster.start(['a', 'b', 'c'], { storage: 'level', seed: 24, snapshotEveryEntries: 25 });
    await cluster.waitLeader();
    const acked: string[] = [];
    for (let i = 0; i < 100; i++) acked.push((await cluster.propose(`s${i}`), `s${i}`));
    await converge(cluster, acked);
    await eventually('every node compacted', () =>
      [...cluster.nodes.values()].every((n) => n.driver.status().snapshotIndex >= 75),
    );
    for (const id of ['a', 'b', 'c']) await cluster.crash(id);

    const disk = await LevelStorage.open(join(cluster.dir, 'a'));
    const state = await disk.load();
    await disk.close();
    expect(state.snapshot?.metadata.index).to.be.at.least(75);
    expect(state.entries[0]?.index ?? state.snapshot!.metadata.index + 1).to.equal(state.snapshot!.metadata.index + 1);
    expect(state.snapshot!.metadata.confState.voters).to.have.members(['a', 'b', 'c']);

    for (const id of ['a', 'b', 'c']) await cluster.startNode(id);
    for (const n of cluster.nodes.values()) expect(n.sm.restores).to.equal(1);
    await cluster.waitLeader();
    await cluster.propose('post');
    await converge(cluster, [...acked, 'post']);
    for (const n of cluster.nodes.values()) expect(n.sm.items).to.deep.equal([...acked, 'post']);
  });
});

describe('Crash recovery of a whole process (SIGKILL) on LevelDB', function () {
  this.timeout(60_000);

  it('every proposal acknowledged before the kill is applied after restart, exactly once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adrestia-kill-driver-'));
    try {
      const writer = fileURLToPath(new URL('./crash-recovery-writer.ts', import.meta.url));
      const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const acked: string[] = [];
      let buffered = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          const lines = (buffered + chunk.toString()).split('\n');
          buffered = lines.pop() ?? '';
          acked.push(...lines);
          if (acked.length >= 300) child.kill('SIGKILL');
        });
        child.on('exit', () => resolve());
        child.on('error', reject);
      });
      expect(acked.length).to.be.at.least(300);

      const sm = new ListStateMachine();
      const driver = await NodeDriver.start<number>({
        id: 'solo',
        storage: await LevelStorage.open(dir),
        transport: new MemoryNetwork().endpoint('solo'),
        stateMachine: sm,
        tickMs: 5,
        random: new SeededRandom(2),
        initialConfState: { voters: ['solo'], learners: [], votersOutgoing: [] },
        snapshotEveryEntries: 64,
      });
      try {
        expect(sm.restores).to.equal(1); // it had compacted: recovery starts from the snapshot
        driver.campaign();
        await eventually('leadership', () => driver.status().role === 'leader');
        await driver.propose(new TextEncoder().encode('after'));
        expect(acked.filter((a) => !sm.items.includes(a))).to.deep.equal([]);
        expect(new Set(sm.items).size).to.equal(sm.items.length);
        expect(sm.items[sm.items.length - 1]).to.equal('after');
      } finally {
        await driver.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
