// The `adrestia-pki` binary's contract with scripts: usage errors exit 2 with the usage text,
// failures exit 1 with a typed code on stderr, `help` exits 0.
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

  it('help exits 0 and lists the commands; an unknown command exits 2', () => {
    const help = cli(['help']);
    expect(help.status).to.equal(0);
    for (const c of ['serve', 'dev', 'status', 'issue', 'revoke']) expect(help.stderr).to.contain(`  ${c}`);
    expect(cli(['frobnicate']).status).to.equal(2);
  });

  it('usage errors exit 2 and name the option: serve without --config, dev --azs 0', () => {
    const serve = cli(['serve']);
    expect([serve.status, serve.stderr.split('\n')[0]]).to.deep.equal([2, 'serve needs --config FILE']);
    const dev = cli(['dev', '--azs', '0']);
    expect([dev.status, dev.stderr.split('\n')[0]]).to.deep.equal([2, '--azs: a whole number 1..9']);
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
