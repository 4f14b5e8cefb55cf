// The mutation suite: each planted bug (mutations.ts) is applied to a scratch copy of packages/
// (the workspace's node_modules linked in), and the simulator runs seeds until one fails.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMutation, type Mutation } from './mutations.ts';

export interface MutantOutcome {
  mutation: string;
  rule: string;
  sim: Mutation['sim'];
  /** First failing seed, or null when every seed of the budget passed. */
  seed: number | null;
  /** The checker (violation kind) that caught it. */
  checker: string | null;
  seedsRun: number;
  realMs: number;
}

export interface MutantBudget {
  start: number;
  raftSeeds: number;
  clusterSeeds: number;
}

/** Copies packages/ of `root` into a fresh directory with `m` applied; returns that directory. */
function scratchCopy(root: string, m: Mutation): string {
  const dir = mkdtempSync(join(tmpdir(), `mutant-${m.name}-`));
  cpSync(join(root, 'packages'), join(dir, 'packages'), { recursive: true, verbatimSymlinks: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  const file = join(dir, 'packages', m.file);
  writeFileSync(file, applyMutation(m, readFileSync(file, 'utf8')));
  return dir;
}

function runChild(dir: string, args: readonly string[]): Promise<string> {
  const script = join(dir, 'packages/testkit/src/mutants/first-catch.ts');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`first-catch exited ${code}: ${err.slice(-2000)}`))));
  });
}

export async function runMutant(root: string, m: Mutation, budget: MutantBudget): Promise<MutantOutcome> {
  const started = performance.now();
  const dir = scratchCopy(root, m);
  try {
    const seeds = m.sim === 'raft' ? budget.raftSeeds : budget.clusterSeeds;
    const out = await runChild(dir, [m.sim, String(budget.start), String(seeds)]);
    const r = JSON.parse(out.trim().split('\n').pop()!) as { seed: number | null; kind: string | null; seeds: number };
    return { mutation: m.name, rule: m.rule, sim: m.sim, seed: r.seed, checker: r.kind, seedsRun: r.seeds, realMs: Math.round(performance.now() - started) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatTable(rows: readonly MutantOutcome[]): string {
  const lines = ['| mutation | sim | caught | seed | checker | seeds run |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.mutation} | ${r.sim} | ${r.seed === null ? 'NO' : 'yes'} | ${r.seed ?? '-'} | ${r.checker ?? '-'} | ${r.seedsRun} |`);
  }
  return lines.join('\n');
}
