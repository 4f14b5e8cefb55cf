// `adrestia-pki` argument parsing (src/cli/args.ts, commands.ts), through the real binary: every
// command and subcommand answers `--help`/`-h` with its own usage on stdout, and a mistyped command
// line exits 2 with one line naming the flag or word. None of these runs start a server or send a
// request: each stops at parsing, before any file is read.
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { parseCommandLine, UsageError, type LeafCommand } from '../src/cli/args.ts';
import { lifetimeSeconds } from '../src/cli/client-commands.ts';
import { ADRESTIA_PKI } from '../src/cli/commands.ts';
import { CLI_PATH, loaderArgs } from '../src/dev/processes.ts';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...loaderArgs(), CLI_PATH, ...args], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env['PATH'] ?? '' } }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

/** Runs every command line, at most `parallel` at once (the machine is shared). */
async function cliAll(lines: readonly (readonly string[])[], parallel = 3): Promise<Run[]> {
  const results: Run[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < lines.length; i = next++) results[i] = await cli(lines[i] as readonly string[]);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

const ADMIN = ['--url', '--ca', '--token-file', '--from'];

/** Each command line's flags, as the commands read them (client-commands.ts, cluster-command.ts, …). */
const LEAF_FLAGS: Readonly<Record<string, readonly string[]>> = {
  serve: ['--config', '--init'],
  init: ['--config'],
  join: ['--config'],
  dev: ['--azs', '--nodes', '--dir', '--base', '--log-level', '--join-tokens', '--acme-http01-port', '--acme-tls-alpn01-port', '--acme-resolver'],
  status: ['--url', '--from'],
  issue: [...ADMIN, '--token', '--profile', '--out', '--csr', '--cn', '--san', '--lifetime'],
  revoke: [...ADMIN, '--serial', '--reason'],
  renew: ['--url', '--ca', '--cert', '--key', '--out', '--daemon', '--exec', '--pid-file', '--signal', '--from'],
  'needs-renewal': [],
  'cluster map': ADMIN,
  'cluster remove-node': ADMIN,
  'cluster set-profile': ADMIN,
  'cluster remove-profile': ADMIN,
  'cluster rotate-root': [...ADMIN, '--subject', '--pending', '--signed'],
  'cluster rotate-kek': [...ADMIN, '--old-kek', '--new-kek'],
  'cluster token': [...ADMIN, '--az', '--ttl', '--node'],
  'cluster az add': [...ADMIN, '--subnets', '--vip'],
  'cluster az remove': ADMIN,
  'cluster az refound': [...ADMIN, '--force'],
  'audit verify': ADMIN,
};

/** Each group's subcommands, as its usage lists them. */
const GROUP_ENTRIES: Readonly<Record<string, readonly string[]>> = {
  cluster: ['map', 'remove-node ID', 'set-profile NAME FILE', 'remove-profile NAME', 'rotate-root', 'rotate-kek', 'backup', 'restore FILE', 'token', 'provisioner add NAME', 'provisioner list', 'provisioner remove NAME', 'az add NAME', 'az remove NAME', 'az refound NAME', 'acme eab'],
  'cluster az': ['add NAME', 'remove NAME', 'refound NAME'],
  audit: ['verify'],
};

/** The `--flag` words of a usage's options section (one line each). */
function optionLines(usage: string): string[] {
  const section = usage.split('\noptions:\n')[1] ?? '';
  return section.split('\n').filter((l) => l !== '').map((l) => /^ {2}(?:-h, )?(--[\w-]+)/.exec(l)?.[1] ?? `unparsed line ${JSON.stringify(l)}`);
}

describe('adrestia-pki --help and -h: every command and subcommand prints its own usage on stdout, exit 0', function () {
  this.timeout(180_000);
  const paths = [...Object.keys(LEAF_FLAGS), ...Object.keys(GROUP_ENTRIES)];
  const runs = new Map<string, { long: Run; short: Run }>();

  before(async () => {
    const results = await cliAll(paths.flatMap((p) => [[...p.split(' '), '--help'], [...p.split(' '), '-h']]));
    paths.forEach((p, i) => runs.set(p, { long: results[2 * i] as Run, short: results[2 * i + 1] as Run }));
  });

  for (const [path, flags] of Object.entries(LEAF_FLAGS)) {
    it(`${path}: its usage names each of its flags, one line each, and no other`, () => {
      const { long, short } = runs.get(path) as { long: Run; short: Run };
      expect([long.status, long.stderr]).to.deep.equal([0, '']);
      expect(short).to.deep.equal(long);
      expect(long.stdout.startsWith(`usage: adrestia-pki ${path} `) || long.stdout.startsWith(`usage: adrestia-pki ${path}\n`), long.stdout).to.equal(true);
      expect(optionLines(long.stdout)).to.have.members([...flags, '--help']);
    });
  }

  for (const [path, entries] of Object.entries(GROUP_ENTRIES)) {
    it(`${path}: its usage lists its subcommands`, () => {
      const { long, short } = runs.get(path) as { long: Run; short: Run };
      expect([long.status, long.stderr]).to.deep.equal([0, '']);
      expect(short).to.deep.equal(long);
      expect(long.stdout.startsWith(`usage: adrestia-pki ${path} <subcommand>`), long.stdout).to.equal(true);
      const listed = long.stdout.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/ {2,}/)[0]);
      expect(listed).to.deep.equal(entries);
    });
  }

  it('adrestia-pki, adrestia-pki help, --help and -h print the overall usage on stdout, exit 0', async () => {
    const [none, ...others] = await cliAll([[], ['help'], ['--help'], ['-h']]);
    expect([none?.status, none?.stderr]).to.deep.equal([0, '']);
    expect(none?.stdout).to.match(/^usage: adrestia-pki <command>/);
    for (const c of ['serve', 'init', 'join', 'dev', 'status', 'issue', 'revoke', 'renew', 'cluster token', 'cluster az add NAME', 'audit verify']) expect(none?.stdout).to.contain(`\n  ${c} `);
    for (const r of others) expect(r).to.deep.equal(none);
  });
});

describe('adrestia-pki usage errors: exit 2, one line on stderr naming the flag or word', function () {
  this.timeout(120_000);
  const ACCESS = ['--url', 'https://127.200.0.1:8443', '--ca', '/nonexistent/root.pem', '--token-file', '/nonexistent/token'];
  const CASES: readonly [string, readonly string[], string][] = [
    ['an unknown flag', ['issue', '--sna', 'dns:x'], 'adrestia-pki issue: unknown option --sna'],
    ['an unknown flag of a subcommand', ['cluster', 'az', 'add', 'az8', '--vpi', '10.8.0.1'], 'adrestia-pki cluster az add: unknown option --vpi'],
    ['an unknown short flag', ['serve', '-x'], 'adrestia-pki serve: unknown option -x'],
    ['a flag another command takes', ['join', '--init', '--config', 'c.json'], 'adrestia-pki join: unknown option --init'],
    ['a missing value at the end', ['issue', '--url'], 'adrestia-pki issue: --url needs a value'],
    ['a missing value before the next flag', ['revoke', '--serial', '--reason', 'superseded'], 'adrestia-pki revoke: --serial needs a value'],
    ['a value given to a boolean flag', ['serve', '--init=yes', '--config', 'c.json'], 'adrestia-pki serve: --init takes no value'],
    ['a missing required flag', ['cluster', 'az', 'add', 'az8', '--vip', '10.8.0.1', ...ACCESS], 'adrestia-pki cluster az add: --subnets is required'],
    ['a missing positional argument', ['cluster', 'remove-node', ...ACCESS], 'adrestia-pki cluster remove-node: ID is required'],
    ['an extra positional argument', ['cluster', 'remove-profile', 'a', 'b', ...ACCESS], 'adrestia-pki cluster remove-profile: unexpected argument "b"'],
    ['a stray word', ['status', 'now'], 'adrestia-pki status: unexpected argument "now"'],
    ['a number out of range', ['dev', '--azs', '10'], 'adrestia-pki dev: --azs: a whole number 1..9'],
    ['a number in exponent form', ['dev', '--nodes', '1e0'], 'adrestia-pki dev: --nodes: a whole number 1..9'],
    ['a number with a unit', ['cluster', 'token', '--az', 'az1', '--ttl', '60s', ...ACCESS], 'adrestia-pki cluster token: --ttl: a whole number 0 or more'],
    ['a missing subcommand', ['cluster', 'az'], 'adrestia-pki cluster az: a subcommand is required: one of add, remove, refound'],
    ['options before the subcommand', ['cluster', 'az', ...ACCESS], 'adrestia-pki cluster az: a subcommand is required before the options: one of add, remove, refound'],
    ['an unknown subcommand', ['cluster', 'mpa'], 'adrestia-pki cluster: unknown subcommand "mpa"; one of map, remove-node, set-profile, remove-profile, rotate-root, rotate-kek, backup, restore, token, provisioner, az, acme'],
    ['a missing required flag of audit verify', ['audit', 'verify', '--ca', 'c.pem', '--token-file', 't'], 'adrestia-pki audit verify: --url is required'],
    ['an unknown subcommand of audit', ['audit', 'check'], 'adrestia-pki audit: unknown subcommand "check"; one of verify'],
  ];
  let runs: Run[] = [];
  before(async () => {
    runs = await cliAll(CASES.map(([, argv]) => argv));
  });

  CASES.forEach(([what, argv, line], i) => {
    it(`${what}: ${argv.slice(0, 4).join(' ')}…`, () => {
      const r = runs[i] as Run;
      const command = line.slice(0, line.indexOf(':'));
      expect(r).to.deep.equal({ status: 2, stdout: '', stderr: `${line} (see ${command} --help)\n` });
    });
  });
});

describe('adrestia-pki parsing in process (args.ts parseCommandLine)', () => {
  const leaf = (path: readonly string[]): LeafCommand => {
    let c: unknown = ADRESTIA_PKI;
    for (const word of path) c = (c as { subcommands: Record<string, unknown> }).subcommands[word];
    return c as LeafCommand;
  };

  it('--san is repeatable and keeps its values in order; --flag=value works; defaults fill what is not given', () => {
    const issue = parseCommandLine('issue', leaf(['issue']), ['--san', 'dns:a', '--out=p', '--san=ip:10.0.0.1', '--url', 'u', '--ca', 'c', '--token-file', 't', '--profile', 'serverLeaf', '--cn', 'a']);
    expect(issue).to.not.equal('help');
    if (issue === 'help') return;
    expect(issue.lists.get('san')).to.deep.equal(['dns:a', 'ip:10.0.0.1']);
    expect(issue.options.has('san')).to.equal(false);
    expect(issue.options.get('out')).to.equal('p');
    const dev = parseCommandLine('dev', leaf(['dev']), ['--nodes', '1']);
    if (dev === 'help') throw new Error('dev parsed as help');
    expect(Object.fromEntries(dev.options)).to.deep.equal({ azs: '3', nodes: '1', base: '0', 'log-level': 'info' });
  });

  it('--help wins over missing required flags; serve --init is a switch; positionals come back in order', () => {
    expect(parseCommandLine('renew', leaf(['renew']), ['-h'])).to.equal('help');
    const serve = parseCommandLine('serve', leaf(['serve']), ['--config', 'c.json', '--init']);
    if (serve === 'help') throw new Error('serve parsed as help');
    expect([...serve.switches]).to.deep.equal(['init']);
    const set = parseCommandLine('cluster set-profile', leaf(['cluster', 'set-profile']), ['p1', '--url', 'u', 'p.json', '--ca', 'c', '--token-file', 't']);
    if (set === 'help') throw new Error('set-profile parsed as help');
    expect(set.positionals).to.deep.equal(['p1', 'p.json']);
  });
});

describe('adrestia-pki issue --lifetime (client-commands.ts lifetimeSeconds)', () => {
  it('takes seconds, or minutes, hours and days with a unit', () => {
    expect([lifetimeSeconds('3600'), lifetimeSeconds('90s'), lifetimeSeconds('15m'), lifetimeSeconds('12h'), lifetimeSeconds('30d')]).to.deep.equal([3600, 90, 900, 43_200, 2_592_000]);
  });

  it('refuses zero, fractions, negative numbers and unknown units with a UsageError naming --lifetime', () => {
    for (const bad of ['0', '1.5d', '-3', '30w', 'd', '']) expect(() => lifetimeSeconds(bad), bad).to.throw(UsageError, '--lifetime');
  });
});
