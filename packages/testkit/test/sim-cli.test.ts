// `pnpm sim -- …` (src/sim/cli.ts, handing `--cluster` on to src/cluster/cli.ts) through the real
// entry point, with the `--` pnpm passes on: `--help`/`-h` print the usage on stdout, a mistyped
// flag exits 2 naming it, and a seed still replays to its recorded trace hash.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const SIM_CLI = fileURLToPath(new URL('../src/sim/cli.ts', import.meta.url));

function sim(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', SIM_CLI, '--', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The `--flag` words of a usage's options section (one line each). */
function optionLines(usage: string): string[] {
  const section = usage.split('\noptions:\n')[1] ?? '';
  return section.split('\n').filter((l) => l !== '').map((l) => /^ {2}(?:-h, )?(--[\w-]+)/.exec(l)?.[1] ?? `unparsed line ${JSON.stringify(l)}`);
}

describe('pnpm sim command line', function () {
  this.timeout(180_000);

  it('--help and -h print the Raft simulator usage on stdout, one line per flag, exit 0', () => {
    const long = sim(['--help']);
    expect([long.status, long.stderr]).to.deep.equal([0, '']);
    expect(long.stdout).to.match(/^usage: sim /);
    expect(optionLines(long.stdout)).to.deep.equal(['--seed', '--trace', '--seeds', '--start', '--cluster', '--help']);
    expect(sim(['-h'])).to.deep.equal(long);
  });

  it('--cluster --help prints the cluster simulator usage with its flags, exit 0', () => {
    const r = sim(['--cluster', '--help']);
    expect([r.status, r.stderr]).to.deep.equal([0, '']);
    expect(r.stdout).to.match(/^usage: sim --cluster /);
    expect(optionLines(r.stdout)).to.have.members(['--seeds', '--start', '--seed', '--jobs', '--chaos-ms', '--grown', '--pki', '--cold-start', '--years', '--verbose', '--help']);
  });

  it('an unknown flag, a missing value or a bad number exits 2 with one line naming the flag', () => {
    const cases: [readonly string[], string][] = [
      [['--sede', '7'], 'sim: unknown option --sede (see sim --help)'],
      [['--seed'], 'sim: --seed needs a value (see sim --help)'],
      [['--seeds', '1e3'], 'sim: --seeds must be a non-negative integer, got "1e3" (see sim --help)'],
      [['--cluster', '--job', '2'], 'sim --cluster: unknown option --job (see sim --cluster --help)'],
      [['--cluster', '--seed', '-1'], 'sim --cluster: --seed needs a value (see sim --cluster --help)'],
      [['--cluster', '--jobs', 'two'], 'sim --cluster: --jobs must be a non-negative integer, got "two" (see sim --cluster --help)'],
    ];
    for (const [args, line] of cases) expect(sim(args), args.join(' ')).to.deep.equal({ status: 2, stdout: '', stderr: `${line}\n` });
  });

  it('--seed 7 still replays to trace=0b1b2cc4e70776d7', () => {
    const r = sim(['--seed', '7']);
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).to.equal('seed=7');
    expect(lines[1]).to.match(/ trace=0b1b2cc4e70776d7$/);
    expect(lines[2]).to.equal('seed=7 ok');
  });
});
