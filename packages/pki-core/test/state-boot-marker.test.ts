import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { encodeEvent } from '../src/state/index.ts';
import { PkiApplication } from '../src/node/core/pki-application.ts';
import { bootMarkerPath, claimStateDir, readBootId } from '../src/node/core/state-boot-marker.ts';
import { baseLog, removeTempDirs, tempDir } from './state-fixtures.ts';

const bootA = (): Promise<string> => Promise.resolve('boot-a');
const bootB = (): Promise<string> => Promise.resolve('boot-b');

/** A state directory holding one file, standing for what LevelDB wrote. */
function stateDirWithData(): string {
  const dir = join(tempDir('pki-boot-'), 'state');
  mkdirSync(dir);
  writeFileSync(join(dir, 'CURRENT'), 'MANIFEST-000001\n');
  return dir;
}

async function applyBaseLog(app: PkiApplication): Promise<void> {
  for (const [i, event] of baseLog().entries()) {
    const tier = event.type === 'Issued' ? 'local' : 'global';
    const outcome = await app.apply(encodeEvent(event), { seq: i + 1, tier, az: 'az1' });
    expect(outcome?.ok, `${event.type} applied`).to.equal(true);
  }
  await app.flush();
}

describe('PKI state boot record (node/core/state-boot-marker.ts): unsynced state writes survive a process crash, not a machine crash', () => {
  after(removeTempDirs);

  it('a first claim records the boot and lets flushes go unsynced; a claim under the same boot keeps the state', async () => {
    const dir = stateDirWithData();
    const first = await claimStateDir(dir, bootA);
    expect(first).to.include({ syncEachFlush: false, discarded: false });
    expect(readFileSync(bootMarkerPath(dir), 'utf8')).to.equal('boot-a');
    // The process was killed (no release): same boot, so the kernel kept every write.
    const again = await claimStateDir(dir, bootA);
    expect(again.discarded).to.equal(false);
    expect(existsSync(join(dir, 'CURRENT')), 'the state is kept').to.equal(true);
  });

  it('a record of another boot discards the state directory and records the current boot', async () => {
    const dir = join(tempDir('pki-boot-'), 'state');
    const app = new PkiApplication(dir);
    await app.reset();
    await applyBaseLog(app);
    await app.close();
    // As if the machine went down before the close: the record names the boot of the writes.
    writeFileSync(bootMarkerPath(dir), 'a-boot-before-the-crash');
    const claim = await claimStateDir(dir, bootB);
    expect(claim.discarded).to.equal(true);
    expect(existsSync(dir), 'the state directory is gone').to.equal(false);
    expect(readFileSync(bootMarkerPath(dir), 'utf8')).to.equal('boot-b');
  });

  it('release after a clean close removes the record, so the next boot keeps the state', async () => {
    const dir = stateDirWithData();
    const claim = await claimStateDir(dir, bootA);
    await claim.release();
    expect(existsSync(bootMarkerPath(dir))).to.equal(false);
    expect((await claimStateDir(dir, bootB)).discarded).to.equal(false);
  });

  it('without a boot id every flush is synced and no record is kept', async () => {
    const dir = stateDirWithData();
    const claim = await claimStateDir(dir, () => Promise.resolve(null));
    expect(claim).to.include({ syncEachFlush: true, discarded: false });
    expect(existsSync(bootMarkerPath(dir))).to.equal(false);
  });

  it('PkiApplication keeps the record while open, removes it on close, and rebuilds after a foreign boot record', async () => {
    expect(await readBootId(), 'a Linux kernel names its boot').to.be.a('string');
    const dir = join(tempDir('pki-boot-'), 'state');
    const app = new PkiApplication(dir);
    await app.reset();
    expect(readFileSync(bootMarkerPath(dir), 'utf8')).to.equal(await readBootId());
    await applyBaseLog(app);
    expect(app.appliedSeq()).to.equal(baseLog().length);
    await app.close();
    expect(existsSync(bootMarkerPath(dir)), 'a clean close leaves nothing to doubt').to.equal(false);

    const reopened = new PkiApplication(dir);
    await reopened.reset();
    expect(reopened.appliedSeq(), 'a clean close keeps the state').to.equal(baseLog().length);
    await reopened.close();

    writeFileSync(bootMarkerPath(dir), 'a-boot-before-the-crash');
    const rebuilt = new PkiApplication(dir);
    await rebuilt.reset();
    expect(rebuilt.appliedSeq(), 'the state is rebuilt from the Raft snapshot and log').to.equal(0);
    await rebuilt.close();
  });
});
