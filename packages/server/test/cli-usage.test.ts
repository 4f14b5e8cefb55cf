// The `adrestia-pki` binary's contract with scripts: usage errors exit 2 naming what is wrong,
// failures exit 1 with a typed code on stderr, `help` prints the usage on stdout and exits 0.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CLI_PATH } from '../src/dev/processes.ts';

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', CLI_PATH, ...args], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env['PATH'] ?? '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('adrestia-pki CLI exit codes', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('help exits 0 and lists the commands on stdout; an unknown command exits 2 with the usage on stderr', () => {
    const help = cli(['help']);
    expect(help.status).to.equal(0);
    for (const c of ['serve', 'dev', 'status', 'issue', 'revoke', 'audit']) expect(help.stdout).to.contain(`  ${c}`);
    const unknown = cli(['frobnicate']);
    expect([unknown.status, unknown.stdout]).to.deep.equal([2, '']);
    expect(unknown.stderr).to.match(/^adrestia-pki: unknown command "frobnicate"\nusage: adrestia-pki <command>/);
  });

  it('usage errors exit 2 and name the option: serve without --config, dev --azs 0', () => {
    const serve = cli(['serve']);
    expect([serve.status, serve.stderr]).to.deep.equal([2, 'adrestia-pki serve: --config is required (see adrestia-pki serve --help)\n']);
    const dev = cli(['dev', '--azs', '0']);
    expect([dev.status, dev.stderr]).to.deep.equal([2, 'adrestia-pki dev: --azs: a whole number 1..9 (see adrestia-pki dev --help)\n']);
  });

  it('an invalid configuration exits 1 with ERR_CONFIG_INVALID naming the field', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ clusterVip: 'not-an-ip', az: 'az1', dataDir: join(dir, 'data') }));
    const r = cli(['serve', '--config', path]);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/^adrestia-pki: ERR_CONFIG_INVALID: invalid configuration:/);
    expect(r.stderr).to.contain('clusterVip');
  });
});
