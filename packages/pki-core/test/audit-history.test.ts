// The node-local history of a log's audit chain (state/audit-chain.ts) on LevelDB: with a retention
// it forgets entries more than `auditRetainEntriesMax` positions before the latest checkpoint, at
// most two per command, and what it keeps still links and ends at the head; without one it keeps all.
import { join } from 'node:path';
import { expect } from 'chai';
import { verifyAuditHistory } from '../src/node/audit/index.ts';
import { encodeEvent, PkiStateStore, type PkiEvent } from '../src/state/index.ts';
import { clusterCreated, removeTempDirs, tempDir, T0 } from './state-fixtures.ts';

const profile = (i: number): PkiEvent => ({ type: 'ProfileSet', name: `p${i}`, profile: { lifetimeSeconds: 3600 } });
const checkpoint = (position: number): PkiEvent => ({
  type: 'AuditCheckpoint',
  log: 'global',
  az: 'az1',
  position,
  head: new Uint8Array(32).fill(7),
  signerNodeId: 'n1',
  chainDer: [new Uint8Array([0x30, 0x00])],
  signature: new Uint8Array(64).fill(9),
  at: T0 + position,
});

async function applyGlobal(store: PkiStateStore, events: PkiEvent[]): Promise<void> {
  for (const event of events) {
    const outcome = await store.applyCommand(event, { index: store.appliedIndex() + 1 }, { log: 'global', bytes: encodeEvent(event) });
    expect(outcome?.ok, `${event.type}: ${JSON.stringify(outcome)}`).to.equal(true);
  }
}

const heldPositions = async (store: PkiStateStore): Promise<number[]> => (await store.auditEntries('global', 1, 1000)).map((e) => e.position);

describe('audit history retention (state/audit-chain.ts, docs/architecture.md §18)', () => {
  after(removeTempDirs);

  it('keeps every entry without a retention, checkpoint or not', async () => {
    const store = await PkiStateStore.open(join(tempDir(), 'state'), { syncWrites: false });
    try {
      await applyGlobal(store, [clusterCreated(), ...[1, 2, 3, 4].map(profile), checkpoint(5), profile(5)]);
      expect(await heldPositions(store)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);
    } finally {
      await store.close();
    }
  });

  it('forgets entries more than the retention before the latest checkpoint, two per command; the rest links to the head', async () => {
    const store = await PkiStateStore.open(join(tempDir(), 'state'), { syncWrites: false, auditRetainEntriesMax: 2 });
    try {
      await applyGlobal(store, [clusterCreated(), ...[1, 2, 3, 4, 5, 6, 7].map(profile)]);
      // No checkpoint yet: nothing is forgotten.
      expect(await heldPositions(store)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
      // The checkpoint (position 9) attests 8: entries up to 6 may go, two per command.
      await applyGlobal(store, [checkpoint(8)]);
      expect(await heldPositions(store)).to.deep.equal([3, 4, 5, 6, 7, 8, 9]);
      await applyGlobal(store, [profile(8), profile(9)]);
      expect(await heldPositions(store)).to.deep.equal([7, 8, 9, 10, 11]);
      const entries = await store.auditEntries('global', 1, 1000);
      for (let i = 1; i < entries.length; i++) expect(Buffer.from(entries[i]!.prev).equals(Buffer.from(entries[i - 1]!.hash))).to.equal(true);
      const head = await store.auditHead('global');
      expect([head.position, Buffer.from(head.head).equals(Buffer.from(entries.at(-1)!.hash))]).to.deep.equal([11, true]);
    } finally {
      await store.close();
    }
  });

  it('verifyAuditHistory starts a history that begins after position 1 from its first entry, and names an edited one', async () => {
    const store = await PkiStateStore.open(join(tempDir(), 'state'), { syncWrites: false });
    try {
      await applyGlobal(store, [clusterCreated(), ...[1, 2, 3, 4, 5, 6].map(profile)]);
      const head = await store.auditHead('global');
      const held = (await store.auditEntries('global', 1, 1000)).slice(2);
      const input = { log: 'global', tier: 'global' as const, az: 'az1', head, roots: [] };
      const clean = verifyAuditHistory({ ...input, entries: held });
      expect(clean.ok && [clean.summary.fromPosition, clean.summary.toPosition, clean.summary.checkpoints.length]).to.deep.equal([3, 7, 0]);
      const edited = held.map((e) => (e.position === 5 ? { ...e, bytes: encodeEvent(profile(99)) } : e));
      const verdict = verifyAuditHistory({ ...input, entries: edited });
      expect(verdict.ok ? null : [verdict.divergence.position, verdict.divergence.eventType, verdict.divergence.expected]).to.deep.equal([5, 'ProfileSet', Buffer.from(held[2]!.hash).toString('hex')]);
    } finally {
      await store.close();
    }
  });
});
