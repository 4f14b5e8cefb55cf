// `pnpm bench [--only <name>[,<name>…]]`: runs every bench/*.bench.ts in turn, each in its own
// Node process (so one benchmark's heap, timers and native handles cannot skew the next), and
// checks that each wrote bench/results/<name>.json. Benchmarks print their own figures.
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const BENCH_DIR = join(ROOT, 'bench');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const SUFFIX = '.bench.ts';

interface Outcome {
  name: string;
  exitCode: number | null;
  seconds: number;
  wroteResults: boolean;
}

/** `--vs a,b`: systems to compare against, handed to the benchmarks as BENCH_VS (bench/https.bench.ts). */
function parseVs(argv: readonly string[]): { rest: string[]; vs: string | null } {
  const rest: string[] = [];
  let vs: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--vs') {
      vs = argv[++i] ?? null;
      if (!vs) throw new TypeError('--vs needs a list of systems (e.g. cfssl,etcd)');
    } else if (arg.startsWith('--vs=')) vs = arg.slice('--vs='.length);
    else rest.push(arg);
  }
  return { rest, vs };
}

function parseOnly(argv: readonly string[]): Set<string> | null {
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue; // `pnpm bench -- --only x` forwards the separator
    if (arg === '--only') {
      const value = argv[++i];
      if (!value) throw new TypeError('--only needs a benchmark name');
      names.push(...value.split(','));
    } else if (arg.startsWith('--only=')) {
      names.push(...arg.slice('--only='.length).split(','));
    } else {
      throw new TypeError(`unknown argument ${arg} (usage: pnpm bench [--only <name>[,<name>…]] [--vs <system>[,<system>…]])`);
    }
  }
  return names.length > 0 ? new Set(names.map((n) => n.replace(/\.bench\.ts$/, ''))) : null;
}

async function runOne(name: string, vs: string | null): Promise<Outcome> {
  const file = join(BENCH_DIR, name + SUFFIX);
  const results = join(RESULTS_DIR, `${name}.json`);
  const started = Date.now();
  console.log(`\n=== bench ${name} ===`);
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', file], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, BENCH_RESULTS_DIR: RESULTS_DIR, ...(vs === null ? {} : { BENCH_VS: vs }) },
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(signal ? null : code));
  });
  const written = await stat(results).catch(() => null);
  return {
    name,
    exitCode,
    seconds: (Date.now() - started) / 1000,
    wroteResults: written !== null && written.mtimeMs >= started - 1000,
  };
}

async function main(): Promise<void> {
  const { rest, vs } = parseVs(process.argv.slice(2));
  const only = parseOnly(rest);
  const all = (await readdir(BENCH_DIR)).filter((f) => f.endsWith(SUFFIX)).map((f) => basename(f, SUFFIX)).sort();
  const unknown = only ? [...only].filter((n) => !all.includes(n)) : [];
  if (unknown.length > 0) throw new TypeError(`no such benchmark: ${unknown.join(', ')} (have: ${all.join(', ')})`);
  const chosen = only ? all.filter((n) => only.has(n)) : all;
  const outcomes: Outcome[] = [];
  for (const name of chosen) outcomes.push(await runOne(name, vs));

  console.log('\n=== bench summary ===');
  for (const o of outcomes) {
    const status = o.exitCode === 0 ? (o.wroteResults ? 'ok' : 'ok, but no results JSON written') : `FAILED (exit ${o.exitCode})`;
    console.log(`${o.name.padEnd(24)} ${o.seconds.toFixed(1).padStart(7)} s  ${status}`);
  }
  if (outcomes.some((o) => o.exitCode !== 0 || !o.wroteResults)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
