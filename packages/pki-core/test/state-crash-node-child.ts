// Child process for the crash test of the state on disk: one node (state-crash-node-fixtures.ts)
// proposes a generated log, each event on its tier, with a few proposals in flight, and prints
// how many were acknowledged, until its parent kills it with SIGKILL.
import { decodeEvent } from '../src/state/index.ts';
import { tierOfEvent } from '../src/node/core/pki-application.ts';
import { startSoloNode } from './state-crash-node-fixtures.ts';
import { generateLog } from './state-loggen.ts';

const IN_FLIGHT_MAX = 32;

const [raftDir, stateDir, seedText, countText] = process.argv.slice(2);
if (raftDir === undefined || stateDir === undefined || seedText === undefined || countText === undefined) {
  throw new TypeError('usage: <raftDir> <stateDir> <seed> <count>');
}
const { node } = await startSoloNode(raftDir, stateDir);
const log = generateLog(Number(seedText), Number(countText));

function propose(data: Uint8Array): Promise<unknown> {
  let tier: 'local' | 'global' = 'local';
  try {
    tier = tierOfEvent(decodeEvent(data).type) === 'global' ? 'global' : 'local';
  } catch {
    // Undecodable: proposed locally, where every replica rejects it alike (ERR_EVENT_MALFORMED).
  }
  return tier === 'global' ? node.proposeGlobal(data) : node.proposeLocal(data);
}

let acknowledged = 0;
for (let i = 0; i < log.length; i += IN_FLIGHT_MAX) {
  await Promise.all(log.slice(i, i + IN_FLIGHT_MAX).map((e) => propose(e.data)));
  acknowledged += Math.min(IN_FLIGHT_MAX, log.length - i);
  process.stdout.write(`${acknowledged}\n`);
}
process.stdout.write('done\n');
