// Child process for the snapshot-install crash test: streams the chunked snapshot of the store at
// <source> into the store at <target>, printing each staged chunk's number, and never commits;
// its parent SIGKILLs it part-way through.
import { PkiStateStore } from '../src/state/index.ts';

const [source, target, chunkBytesText] = process.argv.slice(2);
if (source === undefined || target === undefined || chunkBytesText === undefined) throw new TypeError('usage: <source> <target> <chunkBytes>');
const from = await PkiStateStore.open(source, { syncWrites: false });
const to = await PkiStateStore.open(target, { syncWrites: true });
const install = to.beginInstall();
let n = 0;
for await (const chunk of (await from.snapshotChunks(Number(chunkBytesText))).chunks) {
  await install.write(chunk);
  process.stdout.write(`${++n}\n`);
}
// The parent kills before the last chunk; reaching here means it did not.
process.stdout.write('done\n');
await new Promise(() => undefined);
