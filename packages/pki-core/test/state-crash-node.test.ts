import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { MemoryBackend } from '../src/state/memory-backend.ts';
import { PkiStateStore } from '../src/state/index.ts';
import { runAndKill } from './kill-child.ts';
import { azSpec, CLUSTER_ID, eventually, issueVia, PkiTestCluster } from './node-cluster-harness.ts';
import { startSoloNode, type SoloNode } from './state-crash-node-fixtures.ts';
import { applyAll, baseLog, hexDump, issued, removeTempDirs, tempDir } from './state-fixtures.ts';

const CHILD = join(fileURLToPath(new URL('.', import.meta.url)), 'state-crash-node-child.ts');
// Long enough that the child is still proposing when the kill lands, even on a loaded machine.
const LOG_ENTRIES = 3000;
/** Never a MessagePack type byte: an entry every replica rejects alike, applied after the replay. */
const MARKER = new Uint8Array([0xc1]);

/**
 * Everything committed before the restart is applied once the marker proposed after it is. The
 * `audit` table is the node's own history, which a rebuild from a snapshot starts at the snapshot
 * (state/audit-chain.ts); the chain heads in `meta` are compared with the rest of the state.
 */
async function stateAfterReplay(solo: SoloNode): Promise<[string, string][]> {
  const outcome = await solo.node.proposeLocal(MARKER);
  expect(outcome?.ok === false && outcome.error.code).to.equal('ERR_EVENT_MALFORMED');
  return (await hexDump(solo.app.store)).filter(([key]) => !key.startsWith('!audit!'));
}

describe('PKI state on disk (node/core/pki-application.ts): a SIGKILLed node restarts from its state, not from a rebuild', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  for (const [seed, killAfterLines] of [[404, 5], [505, 9]] as const) {
    it(`seed ${seed}: killed after ${killAfterLines} acknowledged rounds, the state it reopens and replays equals a rebuild from the same Raft log`, async () => {
      const dir = tempDir();
      const [raftDir, stateDir, raftCopy] = [join(dir, 'raft'), join(dir, 'state'), join(dir, 'raft-copy')];
      const { acknowledged, signal } = await runAndKill(CHILD, [raftDir, stateDir, String(seed), String(LOG_ENTRIES)], killAfterLines);
      expect(signal, 'the child ended by the kill, not by itself').to.equal('SIGKILL');
      expect(acknowledged).to.be.within(1, LOG_ENTRIES - 1);
      cpSync(raftDir, raftCopy, { recursive: true });
      const onDisk = await PkiStateStore.open(stateDir);
      const heldSeq = onDisk.appliedIndex();
      await onDisk.close();
      // Written per applied batch: an acknowledged command may still be only in the Raft log.
      expect(heldSeq, 'the state on disk holds commands').to.be.greaterThan(0);

      const restarted = await startSoloNode(raftDir, stateDir);
      let durable: [string, string][];
      try {
        expect(restarted.node.status().local.snapshotIndex, 'the log was compacted into local snapshots').to.be.greaterThan(0);
        // A snapshot writes the state first, so the state on disk is never older than it.
        expect(restarted.restores(), 'restored from the local snapshot').to.equal(0);
        durable = await stateAfterReplay(restarted);
      } finally {
        await restarted.stop();
      }
      const rebuilt = await startSoloNode(raftCopy, null);
      try {
        expect(rebuilt.restores(), 'the rebuild starts from the local snapshot').to.equal(1);
        expect(durable).to.deep.equal(await stateAfterReplay(rebuilt));
      } finally {
        await rebuilt.stop();
      }
    });
  }
});

describe('PkiStateStore writeOnApply: false holds applied batches until flush() writes them in one write', () => {
  it('queries and later applies see held batches; the backend holds none of them until flush, then all with the applied index', async () => {
    const backend = new MemoryBackend();
    const store = await PkiStateStore.over(backend, { writeOnApply: false });
    await applyAll(store, baseLog());
    await applyAll(store, [issued('01ab')]);
    expect(store.appliedIndex()).to.equal(baseLog().length + 1);
    expect(await store.cluster(), 'a held batch is readable').to.not.equal(undefined);
    expect(await backend.dump(), 'nothing written before flush').to.deep.equal([]);
    await store.flush();
    const reopened = await PkiStateStore.over(backend);
    expect(reopened.appliedIndex()).to.equal(baseLog().length + 1);
    expect(await hexDump(reopened)).to.deep.equal(await hexDump(store));
  });
});

describe('PkiNode with its state on disk (PkiNodeOptions.stateDir)', function () {
  this.timeout(60_000);
  let c: PkiTestCluster;
  before(() => (c = new PkiTestCluster({}, { stateOnDisk: true })));
  after(() => c.stop());

  it('a stopped node releases its state, restarts from it and ends byte for byte where its peer is', async () => {
    await c.start('a1', 'az1', { mode: 'foundCluster', clusterId: CLUSTER_ID, azSpec: azSpec(1) });
    await c.start('a2', 'az1', { mode: 'join', localLeaderId: 'a1' });
    await eventually('both ready', () => c.live().every((n) => n.status().ready));
    const before = await issueVia(c.nodes.get('a1')!, c, 'before-restart');
    await eventually('a2 holds the leaf', async () => (await c.nodes.get('a2')!.app.store.getCertificate(before.issuerId, before.serialHex)) !== undefined);
    await c.crash('a2');
    const held = await PkiStateStore.open(join(c.nodeDir('a2'), 'state'));
    const heldSeq = held.appliedIndex();
    await held.close();
    expect(heldSeq, 'the state on disk holds what a2 applied').to.be.greaterThan(0);
    await c.start('a2', 'az1', { mode: 'restart' });
    const after = await issueVia(c.nodes.get('a1')!, c, 'after-restart');
    const [a1, a2] = [c.nodes.get('a1')!, c.nodes.get('a2')!];
    await eventually('a2 holds the leaf issued after its restart', async () => (await a2.app.store.getCertificate(after.issuerId, after.serialHex)) !== undefined);
    // Scheduled work may apply more meanwhile: equal bytes once both applied the same commands.
    await eventually('a2 holds the same bytes as a1', async () => {
      const [mine, theirs] = await Promise.all([hexDump(a2.app.store), hexDump(a1.app.store)]);
      return a2.app.appliedSeq() === a1.app.appliedSeq() && JSON.stringify(mine) === JSON.stringify(theirs);
    });
  });
});
