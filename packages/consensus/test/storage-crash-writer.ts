// Child process for storage.test.ts: writes one Ready-like batch after another with sync, printing
// the batch number once each save resolves (acknowledged), until it is killed.
import { LevelStorage } from '../src/level-storage.ts';

const dir = process.argv[2];
if (!dir) throw new TypeError('usage: storage-crash-writer.ts <dir>');
const storage = await LevelStorage.open(dir);
await storage.load();
const payload = new Uint8Array(512).fill(7);
for (let n = 1; n <= 100_000; n++) {
  const entries = Array.from({ length: 10 }, (_, i) => ({
    index: (n - 1) * 10 + i + 1,
    term: n,
    type: 'normal' as const,
    data: payload,
  }));
  await storage.save({ hardState: { term: n, vote: null, commit: n * 10 }, entries }, { sync: true });
  process.stdout.write(`${n}\n`);
}
