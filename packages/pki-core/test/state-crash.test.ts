import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { statSync } from 'node:fs';
import { isPkiError } from '../src/errors.ts';
import { PkiStateStore } from '../src/state/index.ts';
import { hexDump, openStore, removeTempDirs, tempDir } from './state-fixtures.ts';
import { generateLog } from './state-loggen.ts';
import { runAndKill } from './kill-child.ts';

const CHILD = join(fileURLToPath(new URL('.', import.meta.url)), 'state-crash-child.ts');
// Long enough that the child is still writing when the kill lands, even on a loaded machine.
const LOG_ENTRIES = 8000;

describe('PkiStateStore on disk', () => {
  after(removeTempDirs);

  it('keeps its directory private (0700) and refuses a second opener with ERR_IO', async () => {
    const location = join(tempDir(), 'state');
    const store = await PkiStateStore.open(location);
    try {
      expect(statSync(location).mode & 0o777).to.equal(0o700);
      try {
        await PkiStateStore.open(location);
        expect.fail('opened a state already open');
      } catch (e) {
        expect(isPkiError(e, 'ERR_IO'), String(e)).to.equal(true);
      }
    } finally {
      await store.close();
    }
  });
});

describe('Crash atomicity: a SIGKILLed apply leaves exactly the entries through appliedIndex()', () => {
  after(removeTempDirs);

  for (const [seed, killAfterLines] of [[101, 3], [202, 25], [303, 60]] as const) {
    it(`seed ${seed}: killed after ${killAfterLines} acknowledged batches, reopened state equals a clean replay`, async () => {
      const location = join(tempDir(), 'state');
      const { acknowledged } = await runAndKill(CHILD, [location, String(seed), String(LOG_ENTRIES)], killAfterLines);
      expect(acknowledged).to.be.greaterThan(0);
      expect(acknowledged, 'the child finished before it was killed').to.be.lessThan(LOG_ENTRIES);
      const crashed = await PkiStateStore.open(location, { syncWrites: false });
      const clean = await openStore();
      try {
        const applied = crashed.appliedIndex();
        // Acknowledged batches were synced; at most the batch in flight is missing, never half of it.
        expect(applied).to.be.at.least(acknowledged);
        await clean.applyEntries(generateLog(seed, LOG_ENTRIES).slice(0, applied));
        expect(clean.appliedIndex()).to.equal(applied);
        expect(await hexDump(crashed)).to.deep.equal(await hexDump(clean));
        // And the crashed store carries on from where it stopped.
        const rest = generateLog(seed, LOG_ENTRIES).slice(applied, applied + 100);
        await crashed.applyEntries(rest);
        await clean.applyEntries(rest);
        expect(await hexDump(crashed)).to.deep.equal(await hexDump(clean));
      } finally {
        await crashed.close();
        await clean.close();
      }
    });
  }
});
