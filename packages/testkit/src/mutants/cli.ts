// `pnpm sim:mutants [-- --only a,b] [--start S] [--raft-seeds N] [--cluster-seeds N]`: applies each
// planted bug to a scratch copy, runs its simulator until a seed fails, prints the table
// (mutation, caught, seed of first catch, checker) and writes sim-results/mutants.json.
// Exits 1 if any mutation survived its seed budget.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nonNegativeInt, runCli, UsageError, type CliSpec, type FlagValues } from '../cli-args.ts';
import { MUTATIONS } from './mutations.ts';
import { formatTable, runMutant, type MutantOutcome } from './run-mutants.ts';

const SPEC: CliSpec = {
  program: 'sim:mutants',
  synopsis: '[--only NAMES] [--start S] [--raft-seeds N] [--cluster-seeds N]',
  summary: 'apply each planted bug to a scratch copy and report the first seed (and checker) that catches it',
  flags: {
    only: { type: 'string', value: 'NAMES', help: 'comma-separated mutation names (default: all)' },
    start: { type: 'string', value: 'S', help: 'the first seed (default 500000)' },
    'raft-seeds': { type: 'string', value: 'N', help: 'Raft simulator seeds per mutation (default 1000)' },
    'cluster-seeds': { type: 'string', value: 'N', help: 'cluster and PKI simulator seeds per mutation (default 200)' },
  },
};

const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));

async function main(flags: FlagValues): Promise<number> {
  const only = typeof flags['only'] === 'string' ? flags['only'].split(',') : null;
  const unknown = only?.filter((n) => !MUTATIONS.some((m) => m.name === n)) ?? [];
  if (unknown.length > 0) throw new UsageError(`--only: unknown mutation ${unknown.join(', ')}`);
  const budget = {
    start: nonNegativeInt(flags, 'start', 500_000),
    raftSeeds: nonNegativeInt(flags, 'raft-seeds', 1000),
    clusterSeeds: nonNegativeInt(flags, 'cluster-seeds', 200),
  };
  const rows: MutantOutcome[] = [];
  for (const m of MUTATIONS.filter((x) => only === null || only.includes(x.name))) {
    const r = await runMutant(ROOT, m, budget);
    process.stdout.write(`${r.mutation}: ${r.seed === null ? `survived ${r.seedsRun} seeds` : `caught at seed ${r.seed} by ${r.checker}`} (${r.realMs} ms)\n`);
    rows.push(r);
  }
  process.stdout.write(`${formatTable(rows)}\n`);
  mkdirSync(join(ROOT, 'sim-results'), { recursive: true });
  writeFileSync(join(ROOT, 'sim-results', 'mutants.json'), `${JSON.stringify({ budget, rows }, null, 2)}\n`);
  return rows.every((r) => r.seed !== null) ? 0 : 1;
}

process.exitCode = await runCli(SPEC, process.argv.slice(2).filter((a) => a !== '--'), main);
