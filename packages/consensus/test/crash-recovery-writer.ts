// Child process for crash-recovery.test.ts: a single-node group on LevelDB in argv[2], proposing
// with 8 concurrent writers and printing each item once its proposal is acknowledged (applied),
// until the parent kills it with SIGKILL.
import { LevelStorage } from '../src/level-storage.ts';
import { MemoryNetwork } from '../src/memory-transport.ts';
import { NodeDriver } from '../src/node-driver.ts';
import { SeededRandom } from '../src/random.ts';
import { ListStateMachine } from './driver-cluster.ts';

const dir = process.argv[2];
if (!dir) throw new TypeError('usage: crash-recovery-writer.ts <dir>');
const driver = await NodeDriver.start<number>({
  id: 'solo',
  storage: await LevelStorage.open(dir),
  transport: new MemoryNetwork().endpoint('solo'),
  stateMachine: new ListStateMachine(),
  tickMs: 5,
  random: new SeededRandom(1),
  initialConfState: { voters: ['solo'], learners: [], votersOutgoing: [] },
  snapshotEveryEntries: 64,
});
driver.campaign();
while (driver.status().role !== 'leader') await new Promise((r) => setTimeout(r, 5));
let next = 0;
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (;;) {
      const item = `k${next++}`;
      await driver.propose(new TextEncoder().encode(item));
      process.stdout.write(`${item}\n`);
    }
  }),
);
