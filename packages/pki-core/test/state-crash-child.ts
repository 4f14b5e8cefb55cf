// Child process for the crash-atomicity test: applies a generated log to a store in random
// batches, printing each acknowledged applied index, until its parent kills it with SIGKILL.
import { PkiStateStore } from '../src/state/index.ts';
import { generateLog, TestRandom } from './state-loggen.ts';

const [location, seedText, countText] = process.argv.slice(2);
if (location === undefined || seedText === undefined || countText === undefined) throw new TypeError('usage: <location> <seed> <count>');
const seed = Number(seedText);
const log = generateLog(seed, Number(countText));
const r = new TestRandom(seed ^ 0x5a5a);
const store = await PkiStateStore.open(location, { syncWrites: true });
for (let i = 0; i < log.length; ) {
  const size = 1 + r.int(32);
  await store.applyEntries(log.slice(i, i + size));
  i += size;
  process.stdout.write(`${store.appliedIndex()}\n`);
}
await store.close();
process.stdout.write('done\n');
