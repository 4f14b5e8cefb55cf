import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { statSync } from 'node:fs';
import { isPkiError } from '../src/errors.ts';
import { PkiStateStore } from '../src/state/index.ts';
import { hexDump, openStore, removeTempDirs, tempDir } from './state-fixtures.ts';
import { generateLog } from './state-loggen.ts';

const CHILD = join(fileURLToPath(new URL('.', import.meta.url)), 'state-crash-child.ts');
// Long enough that the child is still writing when the kill lands, even on a loaded machine.
const LOG_ENTRIES = 8000;

/** Runs the child until it has acknowledged `killAfterLines` batches, then SIGKILLs it. */
function runAndKill(location: string, seed: number, killAfterLines: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CHILD, location, String(seed), String(LOG_ENTRIES)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acknowledged = 0;
    let lines = 0;
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        if (line === 'done') continue;
        acknowledged = Number(line);
        if (++lines === killAfterLines) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', () => resolve(acknowledged));
  });
}

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
      const acknowledged = await runAndKill(location, seed, killAfterLines);
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
