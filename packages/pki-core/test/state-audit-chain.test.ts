import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { expect } from 'chai';
import type { CommandMeta } from '@adrestia/consensus';
import { PkiApplication } from '../src/node/core/pki-application.ts';
import { encodeEvent } from '../src/state/event-codec.ts';
import { baseLog, issued, removeTempDirs, tempDir } from './state-fixtures.ts';

type Tier = CommandMeta['tier'];

/** A log of commands as TwoTierNode delivers them: base log global, then leaves local, plus two refused commands. */
function commands(): { data: Uint8Array; tier: Tier }[] {
  return [
    ...baseLog().map((e) => ({ data: encodeEvent(e), tier: 'global' as const })),
    { data: encodeEvent(issued('01')), tier: 'local' },
    // Refused before apply: not an event at all, and an event in the wrong log.
    { data: new Uint8Array([0xc1, 0x00]), tier: 'global' },
    { data: encodeEvent(issued('02')), tier: 'global' },
    { data: encodeEvent(issued('03')), tier: 'local' },
  ];
}

async function applyCommands(app: PkiApplication, list: { data: Uint8Array; tier: Tier }[], firstSeq = 1): Promise<void> {
  for (const [i, c] of list.entries()) await app.apply(c.data, { seq: firstSeq + i, tier: c.tier, az: 'az1' });
}

function fold(list: Uint8Array[]): Buffer {
  return list.reduce<Buffer>((head, bytes) => createHash('sha256').update(head).update(bytes).digest(), Buffer.alloc(32));
}

describe('audit chain (state/audit-chain.ts): head\' = SHA-256(head ‖ command bytes) per log', () => {
  after(removeTempDirs);

  it('extends the chain of the log each command came from, refused commands included', async () => {
    const app = new PkiApplication();
    await app.reset();
    const list = commands();
    await applyCommands(app, list);
    for (const tier of ['global', 'local'] as const) {
      const mine = list.filter((c) => c.tier === tier).map((c) => c.data);
      const head = await app.store.auditHead(tier);
      expect(head.position, tier).to.equal(mine.length);
      expect(Buffer.from(head.head).toString('hex'), tier).to.equal(fold(mine).toString('hex'));
      const entries = await app.store.auditEntries(tier, 1, 100);
      expect(entries.map((e) => Buffer.from(e.bytes).toString('hex'))).to.deep.equal(mine.map((b) => Buffer.from(b).toString('hex')));
      expect(Buffer.from(entries[0]!.prev).toString('hex')).to.equal('00'.repeat(32));
    }
    const local = await app.store.auditEntries('local', 2, 100);
    expect(local.map((e) => [e.position, e.seq])).to.deep.equal([[2, 9]]);
  });

  it('a replica restored from a snapshot holds the same head, no history, and goes on alike', async () => {
    const [a, b] = [new PkiApplication(), new PkiApplication()];
    await a.reset();
    const list = commands();
    await applyCommands(a, list.slice(0, 6));
    await b.restore(await a.snapshot(), 6);
    expect(await b.store.auditHead('global')).to.deep.equal(await a.store.auditHead('global'));
    expect(await b.store.auditEntries('global', 1, 100)).to.deep.equal([]);
    await applyCommands(a, list.slice(6), 7);
    await applyCommands(b, list.slice(6), 7);
    for (const tier of ['global', 'local'] as const) expect(await b.store.auditHead(tier), tier).to.deep.equal(await a.store.auditHead(tier));
    expect((await b.store.auditEntries('global', 1, 100)).map((e) => e.position)).to.deep.equal([6, 7]);
  });

  it('on LevelDB the history and heads survive a restart', async () => {
    const dir = join(tempDir(), 'state');
    const first = new PkiApplication(dir);
    await first.reset();
    await applyCommands(first, commands());
    await first.flush();
    const head = await first.store.auditHead('global');
    await first.close();
    const again = new PkiApplication(dir);
    await again.reset();
    expect(await again.store.auditHead('global')).to.deep.equal(head);
    expect((await again.store.auditEntries('global', 1, 100)).length).to.equal(head.position);
    await again.close();
  });
});
