// Runs seeded two-tier cluster simulations from the command line.
//   node --conditions=source --import tsx packages/testkit/src/cluster/cli.ts --seeds N [--start S] [--chaos-ms M] [--verbose]
//   node --conditions=source --import tsx packages/testkit/src/cluster/cli.ts --seed S [--verbose]
//   add --grown to form the cluster as the product grows it (founders, learners, seat joins)
//   add --pki to drive PkiNodes (PKI invariants)
//   add --cold-start to start all 9 nodes at once through discovery (must end in ONE cluster)
//   add --jobs J to split the seeds into J contiguous ranges run by J child processes (one per core)
// Prints `seed=S` first for every run (so a run cut short still names its seed), then its outcome;
// ends with `cluster-sim: N seeds, V violations` and exits non-zero on any violation.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runColdStartSeed, type ColdStartResult } from './cold-start-run.ts';
import { runPkiSeed, type PkiRunResult } from './pki-run.ts';
import { runSeed, type SeededRunResult } from './seeded-run.ts';

interface CliOptions {
  seeds: number[];
  chaosMs: number;
  verbose: boolean;
  pki: boolean;
  grown: boolean;
  coldStart: boolean;
  jobs: number;
  /** The arguments other than the seeds, passed on to child processes (--jobs). */
  passOn: string[];
}

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: cli.ts --seeds N [--start S] [--jobs J] | --seed S  [--chaos-ms M] [--grown | --pki | --cold-start] [--verbose]\n`);
  process.exit(2);
}

function nonNegativeInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) usage(`${name} must be a non-negative integer, got ${value}`);
  return n;
}

function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: 'string' },
      start: { type: 'string' },
      seed: { type: 'string' },
      'chaos-ms': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      pki: { type: 'boolean', default: false },
      grown: { type: 'boolean', default: false },
      jobs: { type: 'string' },
      'cold-start': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.seed !== undefined && values.seeds !== undefined) usage('give --seed or --seeds, not both');
  const chaosMs = nonNegativeInt(values['chaos-ms'], '--chaos-ms', 3_000);
  const jobs = nonNegativeInt(values.jobs, '--jobs', 1);
  if (jobs < 1) usage('--jobs must be at least 1');
  const passOn = [`--chaos-ms=${chaosMs}`, ...(values.verbose ? ['--verbose'] : []), ...(values.pki ? ['--pki'] : []), ...(values.grown ? ['--grown'] : []), ...(values['cold-start'] ? ['--cold-start'] : [])];
  const common = { chaosMs, verbose: values.verbose, pki: values.pki, grown: values.grown, coldStart: values['cold-start'], jobs, passOn };
  if (values.seed !== undefined) return { seeds: [nonNegativeInt(values.seed, '--seed', 0)], ...common };
  const count = nonNegativeInt(values.seeds, '--seeds', 10);
  const start = nonNegativeInt(values.start, '--start', 1);
  return { seeds: Array.from({ length: count }, (_, i) => start + i), ...common };
}

function describe(r: SeededRunResult, realMs: number, verbose: boolean): string {
  const lines = [
    `  ${r.violations.length === 0 ? 'ok' : 'VIOLATIONS'} trace=${r.traceHash.slice(0, 16)} virtual=${Math.round(r.virtualMs)}ms ` +
      `real=${realMs}ms events=${r.eventsRun} acked=${r.acked.local}L/${r.acked.global}G of ${r.attempts} faults=${r.faults.length - 2}`,
  ];
  for (const v of r.violations) lines.push(`  violation ${v.kind} at ${v.atUs / 1000}ms: ${v.message}`);
  if (verbose || r.violations.length > 0) {
    lines.push(`  failures ${JSON.stringify(r.failures)}`);
    for (const f of r.faults) lines.push(`  fault ${f}`);
  }
  if (r.violations.length > 0) for (const t of r.recentTrace.slice(-60)) lines.push(`  trace ${t}`);
  return lines.join('\n');
}

function describePki(r: PkiRunResult, realMs: number, verbose: boolean): string {
  const lines = [
    `  ${r.violations.length === 0 ? 'ok' : 'VIOLATIONS'} pki trace=${r.traceHash.slice(0, 16)} virtual=${Math.round(r.virtualMs)}ms real=${realMs}ms ` +
      `events=${r.eventsRun} issued=${r.issued} revoked=${r.revoked} vips=${r.vipAcquisitions} faults=${r.faults.length - 1}`,
  ];
  for (const v of r.violations) lines.push(`  violation ${v.kind} at ${v.atUs / 1000}ms: ${v.message}`);
  if (verbose || r.violations.length > 0) {
    lines.push(`  failures ${JSON.stringify(r.failures)}`);
    for (const f of r.faults) lines.push(`  fault ${f}`);
    for (const e of r.nodeErrors) lines.push(`  node error ${e}`);
  }
  return lines.join('\n');
}

function describeColdStart(r: ColdStartResult, realMs: number): string {
  const lines = [
    `  ${r.violations.length === 0 ? 'ok' : 'VIOLATIONS'} cold-start trace=${r.traceHash.slice(0, 16)} virtual=${Math.round(r.virtualMs)}ms real=${realMs}ms ` +
      `failed-starts=${r.startFailures.length}`,
  ];
  for (const v of r.violations) lines.push(`  violation ${v.kind} at ${v.atUs / 1000}ms: ${v.message}`);
  return lines.join('\n');
}

async function runOne(seed: number, options: CliOptions): Promise<number> {
  const started = performance.now();
  if (options.coldStart) {
    const r = await runColdStartSeed({ seed });
    process.stdout.write(`${describeColdStart(r, Math.round(performance.now() - started))}\n`);
    return r.violations.length;
  }
  if (options.pki) {
    const r = await runPkiSeed({ seed, chaosMs: options.chaosMs });
    process.stdout.write(`${describePki(r, Math.round(performance.now() - started), options.verbose)}\n`);
    return r.violations.length;
  }
  const r = await runSeed({ seed, chaosMs: options.chaosMs, formation: options.grown ? 'grown' : 'static' });
  process.stdout.write(`${describe(r, Math.round(performance.now() - started), options.verbose)}\n`);
  return r.violations.length;
}

const SUMMARY = /^cluster-sim: (\d+) seeds, (\d+) violations$/;

/**
 * Runs `seeds` in `jobs` child processes (contiguous ranges), printing their lines as they come,
 * each prefixed with its job; returns the violations their summaries count. A child that dies
 * without a summary counts as a violation, so a crash never passes for a clean run.
 */
async function runJobs(options: CliOptions): Promise<number> {
  const per = Math.ceil(options.seeds.length / options.jobs);
  const ranges = Array.from({ length: options.jobs }, (_, j) => options.seeds.slice(j * per, (j + 1) * per)).filter((r) => r.length > 0);
  const self = fileURLToPath(import.meta.url);
  const results = await Promise.all(
    ranges.map(
      (range, j) =>
        new Promise<number>((resolve) => {
          const args = ['--conditions=source', '--import', 'tsx', self, `--seeds=${range.length}`, `--start=${range[0]}`, ...options.passOn];
          const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
          let counted: number | null = null;
          createInterface({ input: child.stdout }).on('line', (line) => {
            const m = SUMMARY.exec(line);
            if (m) counted = Number(m[2]);
            process.stdout.write(`[job ${j + 1}] ${line}\n`);
          });
          child.on('close', (code) => {
            if (counted === null) process.stdout.write(`[job ${j + 1}] exited with ${code} before its summary\n`);
            resolve(counted ?? 1);
          });
        }),
    ),
  );
  return results.reduce((a, b) => a + b, 0);
}

async function main(): Promise<void> {
  const options = parseCli(process.argv.slice(2));
  if (options.jobs > 1 && options.seeds.length > 1) {
    const violations = await runJobs(options);
    process.stdout.write(`cluster-sim: ${options.seeds.length} seeds, ${violations} violations\n`);
    process.exitCode = violations > 0 ? 1 : 0;
    return;
  }
  let violations = 0;
  for (const seed of options.seeds) {
    process.stdout.write(`seed=${seed}\n`);
    violations += await runOne(seed, options);
  }
  process.stdout.write(`cluster-sim: ${options.seeds.length} seeds, ${violations} violations\n`);
  process.exitCode = violations > 0 ? 1 : 0;
}

await main();
