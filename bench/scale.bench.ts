// Scale: one node's PKI state with N certificates (10 % revoked) filled through the real apply
// path, then restart to ready, a follower's catch-up by a chunked snapshot, CRL build, OCSP
// answers/s and p99 at 16 clients, RSS and the apply rate (scripts/bench-scale-state.ts says how
// each is taken); then, in another process, a three-node AZ filled with N through Raft and its
// local leader stopped (scripts/bench-scale-failover.ts). Each run has its own process, so RSS
// is that size's alone. Sizes: 10,000 and 100,000 by default; `--sizes 10000,50000` or
// BENCH_SCALE_SIZES to choose, `--million` or BENCH_SCALE_MILLION=1 to add 1,000,000.
//
// Run alone: `node --conditions=source --import tsx bench/scale.bench.ts [--sizes …] [--million]`
// (or `pnpm bench --only scale`). Writes bench/results/scale.json (or $BENCH_RESULTS_DIR/scale.json)
// with a `summary` of the largest run; ratios are against the 10,000 run.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureFailover, type FailoverFigures } from '../scripts/bench-scale-failover.ts';
import { measureScale, type ScaleFigures } from '../scripts/bench-scale-state.ts';

const BASELINE_CERTIFICATES = 10_000;
const DEFAULT_SIZES = [BASELINE_CERTIFICATES, 100_000];
const MILLION = 1_000_000;
const HERE = fileURLToPath(import.meta.url);
const FAILOVER_TRIALS = 3;

function parseSizes(argv: readonly string[]): number[] {
  let sizes = process.env['BENCH_SCALE_SIZES'] ? parseList(process.env['BENCH_SCALE_SIZES'], 'BENCH_SCALE_SIZES') : DEFAULT_SIZES;
  let million = process.env['BENCH_SCALE_MILLION'] === '1';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--million') million = true;
    else if (arg === '--sizes') sizes = parseList(argv[++i] ?? '', '--sizes');
    else throw new TypeError(`unknown argument ${arg} (usage: scale.bench.ts [--sizes N,N…] [--million])`);
  }
  const all = new Set([BASELINE_CERTIFICATES, ...sizes, ...(million ? [MILLION] : [])]);
  return [...all].sort((a, b) => a - b);
}

function parseList(text: string, flag: string): number[] {
  const sizes = text.split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isSafeInteger(n) || n < 10 || n > 10 * MILLION)) {
    throw new TypeError(`${flag}: expected certificate counts between 10 and 10,000,000, comma-separated; got ${JSON.stringify(text)}`);
  }
  return sizes;
}

/** One measurement (`--one` or `--failover`) of one size in a fresh process: its figures as one JSON line. */
function runChild<T>(mode: '--one' | '--failover', n: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', HERE, mode, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as T) : reject(new Error(`scale ${mode} ${n}: exit ${code}`))));
  });
}

function row(f: ScaleFigures & FailoverFigures): string {
  return [
    f.certificates.toLocaleString('en').padStart(10),
    `${f.restartToReadySeconds.toFixed(3)} s`.padStart(10),
    `${f.followerInstallSeconds.toFixed(2)} s`.padStart(9),
    `${(f.snapshotBytes / 1048576).toFixed(1)} MiB`.padStart(11),
    `${f.rssServingMiB.toFixed(0)} MiB`.padStart(9),
    `${f.rssMiB.toFixed(0)} MiB`.padStart(9),
    `${f.rssAnonMiB === null ? '—' : `${f.rssAnonMiB.toFixed(0)} MiB`}`.padStart(9),
    `${f.crlBuildSeconds.toFixed(2)} s`.padStart(8),
    `${(f.crlBytes / 1024).toFixed(0)} KiB`.padStart(9),
    `${Math.round(f.issuedAppliedPerSecond)}/s`.padStart(8),
    `${Math.round(f.ocspPerSecond)}/s`.padStart(7),
    `${f.ocspP99Ms.toFixed(1)} ms`.padStart(8),
    `${f.failoverMedianSeconds.toFixed(3)} s`.padStart(9),
  ].join('  ');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--one') {
    const n = parseList(argv[1] ?? '', '--one')[0]!;
    process.stdout.write(`${JSON.stringify(await measureScale(mkdtempSync(join(tmpdir(), 'adrestia-scale-')), n))}\n`);
    return;
  }
  if (argv[0] === '--failover') {
    const n = parseList(argv[1] ?? '', '--failover')[0]!;
    const figures = await measureFailover(n, FAILOVER_TRIALS);
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    // The harness's nodes leave LevelDB and timer handles to the process's end.
    process.exit(0);
  }
  const sizes = parseSizes(argv);
  const load = loadavg();
  console.log(`scale: sizes ${sizes.join(', ')}; load average ${load.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`);
  console.log('certificates     restart  follower    snapshot  RSS serve  RSS peak  anon peak      CRL  CRL size   issued     OCSP  OCSP p99   failover');
  const runs: (ScaleFigures & FailoverFigures)[] = [];
  for (const n of sizes) {
    const state = await runChild<ScaleFigures>('--one', n);
    const failover = await runChild<FailoverFigures>('--failover', n);
    runs.push({ ...state, ...failover });
    console.log(row(runs[runs.length - 1]!));
  }
  const base = runs.find((r) => r.certificates === BASELINE_CERTIFICATES)!;
  const largest = runs[runs.length - 1]!;
  const result = {
    bench: 'scale',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadAverageAtStart: load,
    runs,
    summary: {
      maxCertificates: largest.certificates,
      restartRatio: largest.restartToReadySeconds / base.restartToReadySeconds,
      failoverRatio: largest.failoverMedianSeconds / base.failoverMedianSeconds,
      rssMiB: largest.rssMiB,
      rssAnonMiB: largest.rssAnonMiB,
      crlBuildSeconds: largest.crlBuildSeconds,
      ocspPerSecond: largest.ocspPerSecond,
      ocspP99Ms: largest.ocspP99Ms,
    },
  };
  const dir = process.env['BENCH_RESULTS_DIR'] ?? join(dirname(HERE), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'scale.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`summary ${JSON.stringify(result.summary)}`);
}

await main();
