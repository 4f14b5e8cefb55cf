// `pnpm sim -- --seed S [--trace]` replays one seed; `pnpm sim -- --seeds N [--start S]` runs
// N seeds (S, S+1, …), prints one line per failing seed and ends with `sim: N seeds, V violations`.
// `pnpm sim -- --cluster --seeds N [--pki]` runs the two-tier cluster simulator.
import { nonNegativeInt, runCli, type CliSpec, type FlagValues } from '../cli-args.ts';
import { runSimulation, type SimResult } from './simulator.ts';

const RAFT_SIM: CliSpec = {
  program: 'sim',
  synopsis: '[--seed S [--trace]] | [--seeds N [--start S]] | --cluster …',
  summary: 'the Raft simulator (VOPR): replay one seed exactly, or run N seeds and print the failing ones',
  flags: {
    seed: { type: 'string', value: 'S', help: 'replay seed S and print its summary' },
    trace: { type: 'boolean', help: 'with --seed: print every trace line' },
    seeds: { type: 'string', value: 'N', help: 'run N seeds (default 1)' },
    start: { type: 'string', value: 'S', help: 'the first of the N seeds (default 0)' },
    cluster: { type: 'boolean', help: 'run the two-tier cluster simulator instead (sim --cluster --help)' },
  },
};

interface CliArgs {
  seed: number | null;
  seeds: number;
  start: number;
  trace: boolean;
}

function cliArgs(flags: FlagValues): CliArgs {
  return {
    seed: flags['seed'] === undefined ? null : nonNegativeInt(flags, 'seed', 0),
    seeds: nonNegativeInt(flags, 'seeds', 1),
    start: nonNegativeInt(flags, 'start', 0),
    trace: flags['trace'] === true,
  };
}

function describe(r: SimResult): string {
  const v = r.violation;
  if (v === null) return `seed=${r.seed} ok`;
  return `seed=${r.seed} VIOLATION ${v.kind} at step ${v.step}, virtual time ${v.timeMs} ms: ${v.detail}`;
}

function summary(r: SimResult): string {
  const s = r.stats;
  return (
    `seed=${r.seed} n=${r.options.clusterSize} steps=${r.steps} virtual=${r.virtualMs}ms messages=${s.messages} ` +
    `dropped=${s.dropped} crashes=${s.crashes} inflight-truncations=${s.truncatingAppendsInFlight} leaders=${s.leaders} ops=${s.ops} completed=${s.completed} ` +
    `timedOut=${s.timedOut} linearizability=${r.linearizability} trace=${r.traceHash.slice(0, 16)}`
  );
}

async function main(flags: FlagValues): Promise<number> {
  const args = cliArgs(flags);
  if (args.seed !== null) {
    process.stdout.write(`seed=${args.seed}\n`);
    const r = await runSimulation(args.seed, args.trace ? { onTrace: (l) => process.stdout.write(`${l}\n`) } : {});
    process.stdout.write(`${summary(r)}\n${describe(r)}\n`);
    return r.violation === null ? 0 : 1;
  }
  let violations = 0;
  const t0 = process.hrtime.bigint();
  for (let s = args.start; s < args.start + args.seeds; s++) {
    const r = await runSimulation(s);
    if (r.violation !== null) {
      violations++;
      process.stdout.write(`${describe(r)}\n`);
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stderr.write(`(${secs.toFixed(1)} s wall clock)\n`);
  process.stdout.write(`sim: ${args.seeds} seeds, ${violations} violations\n`);
  return violations === 0 ? 0 : 1;
}

// `pnpm sim -- …` passes its `--` on; the simulators take no positional arguments, so a `--` says nothing.
const argv = process.argv.slice(2).filter((a) => a !== '--');
// `--cluster` runs the two-tier cluster simulator instead (3 AZs × 3 nodes; see cluster/cli.ts).
if (argv.includes('--cluster')) {
  const { clusterSimMain } = await import('../cluster/cli.ts');
  process.exitCode = await clusterSimMain(argv.filter((a) => a !== '--cluster'));
} else {
  process.exitCode = await runCli(RAFT_SIM, argv, main);
}
