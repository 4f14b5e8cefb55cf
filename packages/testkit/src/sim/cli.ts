// `pnpm sim -- --seed S [--trace]` replays one seed; `pnpm sim -- --seeds N [--start S]` runs
// N seeds (S, S+1, …), prints one line per failing seed and ends with `sim: N seeds, V violations`.
// `pnpm sim -- --cluster --seeds N [--pki]` runs the two-tier cluster simulator.
import { runSimulation, type SimResult } from './simulator.ts';

interface CliArgs {
  seed: number | null;
  seeds: number;
  start: number;
  trace: boolean;
}

function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = { seed: null, seeds: 1, start: 0, trace: false };
  const rest = argv[0] === '--' ? argv.slice(1) : argv;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const num = (): number => {
      const v = Number(rest[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--seed') args.seed = num();
    else if (a === '--seeds') args.seeds = num();
    else if (a === '--start') args.start = num();
    else if (a === '--trace') args.trace = true;
    else if (a === '--') continue;
    else throw new TypeError(`unknown argument ${a}; usage: sim [--seed S [--trace]] | [--seeds N [--start S]]`);
  }
  return args;
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
    `dropped=${s.dropped} crashes=${s.crashes} leaders=${s.leaders} ops=${s.ops} completed=${s.completed} ` +
    `timedOut=${s.timedOut} linearizability=${r.linearizability} trace=${r.traceHash.slice(0, 16)}`
  );
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  if (args.seed !== null) {
    process.stdout.write(`seed=${args.seed}\n`);
    const r = runSimulation(args.seed, args.trace ? { onTrace: (l) => process.stdout.write(`${l}\n`) } : {});
    process.stdout.write(`${summary(r)}\n${describe(r)}\n`);
    return r.violation === null ? 0 : 1;
  }
  let violations = 0;
  const t0 = process.hrtime.bigint();
  for (let s = args.start; s < args.start + args.seeds; s++) {
    const r = runSimulation(s);
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

// `--cluster` runs the two-tier cluster simulator instead (3 AZs × 3 nodes; see cluster/cli.ts).
if (process.argv.includes('--cluster')) {
  process.argv = process.argv.filter((a) => a !== '--cluster' && a !== '--');
  await import('../cluster/cli.ts');
} else {
  runRaftSim();
}

function runRaftSim(): void {
  try {
    process.exitCode = main();
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    process.stderr.write(`sim: ${e.message}\n`);
    process.exitCode = 2;
  }
}
