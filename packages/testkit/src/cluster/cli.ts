// Runs seeded two-tier cluster simulations from the command line.
//   node --conditions=source --import tsx packages/testkit/src/cluster/cli.ts --seeds N [--start S] [--chaos-ms M] [--verbose]
//   node --conditions=source --import tsx packages/testkit/src/cluster/cli.ts --seed S [--verbose]
//   add --grown to form the cluster as the product grows it (founders, learners, seat joins)
//   add --pki to drive PkiNodes (PKI invariants)
//   add --cold-start to start all 9 nodes at once through discovery (must end in ONE cluster)
//   add --pki --years Y to run Y virtual years with the default lifetimes (CA renewal, pki-years.ts)
//   add --jobs J to split the seeds into J contiguous ranges run by J child processes (one per core)
// Prints `seed=S` first for every run (so a run cut short still names its seed), then its outcome;
// ends with `cluster-sim: N seeds, V violations` and exits non-zero on any violation.
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nonNegativeInt, runCli, UsageError, type CliSpec, type FlagValues } from '../cli-args.ts';
import { runColdStartSeed, type ColdStartResult } from './cold-start-run.ts';
import { runPkiSeed, type PkiRunResult } from './pki-run.ts';
import { runPkiYearsSeed, type PkiYearsResult } from './pki-years.ts';
import { runSeed, type SeededRunResult } from './seeded-run.ts';

const CLUSTER_SIM: CliSpec = {
  program: 'sim --cluster',
  synopsis: '--seeds N [--start S] [--jobs J] | --seed S  [--chaos-ms M] [--grown | --pki | --cold-start] [--verbose]',
  summary: 'the two-tier cluster simulator (3 AZs × 3 nodes on virtual time); every run replays exactly from its seed',
  flags: {
    seeds: { type: 'string', value: 'N', help: 'run N seeds (default 10)' },
    start: { type: 'string', value: 'S', help: 'the first of the N seeds (default 1)' },
    seed: { type: 'string', value: 'S', help: 'run seed S alone' },
    jobs: { type: 'string', value: 'J', help: 'split the seeds into J contiguous ranges run by J child processes (default 1)' },
    'chaos-ms': { type: 'string', value: 'M', help: 'the virtual duration of the chaos phase, in ms (default 3000)' },
    grown: { type: 'boolean', help: 'form the cluster as the product grows it (founders, learners, seat joins)' },
    pki: { type: 'boolean', help: 'drive PkiNodes and check the PKI invariants and VIP holders' },
    'cold-start': { type: 'boolean', help: 'start all 9 nodes at once through discovery (must end in ONE cluster)' },
    years: { type: 'string', value: 'Y', help: 'with --pki: run Y virtual years with the default lifetimes and check CA renewal after every step' },
    verbose: { type: 'boolean', help: 'print each run\'s failures and faults' },
  },
};

interface CliOptions {
  seeds: number[];
  chaosMs: number;
  verbose: boolean;
  pki: boolean;
  grown: boolean;
  coldStart: boolean;
  jobs: number;
  /** With --pki: virtual years to run (pki-years.ts); 0 runs the usual PKI scenario. */
  years: number;
  /** The arguments other than the seeds, passed on to child processes (--jobs). */
  passOn: string[];
}

function cliOptions(values: FlagValues): CliOptions {
  if (values['seed'] !== undefined && values['seeds'] !== undefined) throw new UsageError('give --seed or --seeds, not both');
  const chaosMs = nonNegativeInt(values, 'chaos-ms', 3_000);
  const jobs = nonNegativeInt(values, 'jobs', 1);
  if (jobs < 1) throw new UsageError('--jobs must be at least 1');
  const on = (name: string): boolean => values[name] === true;
  const years = nonNegativeInt(values, 'years', 0);
  if (years > 0 && !on('pki')) throw new UsageError('--years needs --pki');
  const passOn = [`--chaos-ms=${chaosMs}`, ...(years > 0 ? [`--years=${years}`] : []), ...(['verbose', 'pki', 'grown', 'cold-start'] as const).filter(on).map((f) => `--${f}`)];
  const common = { chaosMs, verbose: on('verbose'), pki: on('pki'), grown: on('grown'), coldStart: on('cold-start'), jobs, years, passOn };
  if (values['seed'] !== undefined) return { seeds: [nonNegativeInt(values, 'seed', 0)], ...common };
  const count = nonNegativeInt(values, 'seeds', 10);
  const start = nonNegativeInt(values, 'start', 1);
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
      `events=${r.eventsRun} issued=${r.issued} revoked=${r.revoked} vips=${r.vipAcquisitions} stall-overlaps=${r.vipStallOverlaps} faults=${r.faults.length - 1}`,
  ];
  for (const v of r.violations) lines.push(`  violation ${v.kind} at ${v.atUs / 1000}ms: ${v.message}`);
  if (verbose || r.violations.length > 0) {
    lines.push(`  failures ${JSON.stringify(r.failures)}`);
    for (const f of r.faults) lines.push(`  fault ${f}`);
    for (const e of r.nodeErrors) lines.push(`  node error ${e}`);
  }
  return lines.join('\n');
}

function describeYears(r: PkiYearsResult, realMs: number, verbose: boolean): string {
  const lines = [
    `  ${r.violations.length === 0 ? 'ok' : 'VIOLATIONS'} pki-years trace=${r.traceHash.slice(0, 16)} years=${r.years} steps=${r.steps} ` +
      `virtual=${Math.round(r.virtualMs)}ms real=${realMs}ms issued=${r.issued} renewals=${r.renewals}`,
  ];
  for (const v of r.violations) lines.push(`  violation ${v.kind} at ${v.atUs / 1000}ms: ${v.message}`);
  if (verbose || r.violations.length > 0) {
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
  if (options.pki && options.years > 0) {
    const r = await runPkiYearsSeed({ seed, years: options.years });
    process.stdout.write(`${describeYears(r, Math.round(performance.now() - started), options.verbose)}\n`);
    return r.violations.length;
  }
  if (options.pki) {
    // Checkpoints every virtual second, so the `audit` checker verifies signed ones (pki-cluster.ts).
    const r = await runPkiSeed({ seed, chaosMs: options.chaosMs, auditCheckpointEverySeconds: 1 });
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

async function main(options: CliOptions): Promise<number> {
  if (options.jobs > 1 && options.seeds.length > 1) {
    const violations = await runJobs(options);
    process.stdout.write(`cluster-sim: ${options.seeds.length} seeds, ${violations} violations\n`);
    return violations > 0 ? 1 : 0;
  }
  let violations = 0;
  for (const seed of options.seeds) {
    process.stdout.write(`seed=${seed}\n`);
    violations += await runOne(seed, options);
  }
  process.stdout.write(`cluster-sim: ${options.seeds.length} seeds, ${violations} violations\n`);
  return violations > 0 ? 1 : 0;
}

/** `argv`: the flags after `sim --cluster` (sim/cli.ts hands them on) or after this file's path. */
export function clusterSimMain(argv: readonly string[]): Promise<number> {
  return runCli(CLUSTER_SIM, argv, (flags) => main(cliOptions(flags)));
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (isEntry) process.exitCode = await clusterSimMain(process.argv.slice(2));
