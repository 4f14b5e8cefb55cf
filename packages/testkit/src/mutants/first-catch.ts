// Runs seeds start, start+1, … of one simulator until one fails; prints one JSON line
// {"seed": S | null, "kind": K | null, "seeds": N}. Run inside a mutated scratch copy (mutants.ts).
import { runPkiSeed } from '../cluster/pki-run.ts';
import { runSeed } from '../cluster/seeded-run.ts';
import { runSimulation } from '../sim/simulator.ts';

async function firstFailure(sim: string, seed: number): Promise<string | null> {
  if (sim === 'raft') return (await runSimulation(seed)).violation?.kind ?? null;
  // As `sim --cluster --pki` runs it (cluster/cli.ts): with signed audit checkpoints every virtual second.
  const r = sim === 'pki' ? await runPkiSeed({ seed, auditCheckpointEverySeconds: 1 }) : await runSeed({ seed });
  return r.violations[0]?.kind ?? null;
}

const [sim = 'raft', startArg = '500000', countArg = '1000'] = process.argv.slice(2);
const start = Number(startArg);
const count = Number(countArg);
if (sim !== 'raft' && sim !== 'cluster' && sim !== 'pki') throw new TypeError(`first-catch: sim must be raft, cluster or pki, got ${sim}`);
if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || count < 1) throw new TypeError('first-catch: start and count must be integers');
let found: { seed: number; kind: string } | null = null;
let ran = 0;
for (let s = start; s < start + count && found === null; s++) {
  ran++;
  const kind = await firstFailure(sim, s);
  if (kind !== null) found = { seed: s, kind };
}
process.stdout.write(`${JSON.stringify({ seed: found?.seed ?? null, kind: found?.kind ?? null, seeds: ran })}\n`);
