// deploy/systemd/: the unit and timer files for `serve` and for renewal pass `systemd-analyze
// verify` (systemd.unit(5), systemd.service(5), systemd.timer(5)) with no warning. The units name
// /usr/local/bin/adrestia-pki, which verify requires to be an executable: a copy of each unit names
// a stand-in executable instead, and nothing else changes.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

const UNITS_DIR = new URL('../../../deploy/systemd/', import.meta.url).pathname;
const INSTALLED_BINARY = '/usr/local/bin/adrestia-pki';

describe('deploy/systemd: unit and timer files pass systemd-analyze verify', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => {
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (probe.error !== undefined) throw new Error('systemd-analyze is needed for this test (Debian package systemd): not found on PATH');
    dir = mkdtempSync(join(tmpdir(), 'adrestia-units-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serve, the renewal timer with its oneshot service, and the renewal daemon: no errors, no warnings', () => {
    const files = readdirSync(UNITS_DIR);
    expect(files).to.include.members(['adrestia-pki.service', 'adrestia-pki-renew@.service', 'adrestia-pki-renew@.timer', 'adrestia-pki-renewd@.service']);
    const binary = join(dir, 'adrestia-pki');
    writeFileSync(binary, '#!/bin/sh\nexit 0\n');
    chmodSync(binary, 0o755);
    for (const f of files) {
      const text = readFileSync(join(UNITS_DIR, f), 'utf8');
      if (f.endsWith('.service')) expect(text, `${f} runs the installed binary`).to.contain(INSTALLED_BINARY);
      writeFileSync(join(dir, f), text.replaceAll(INSTALLED_BINARY, binary));
    }
    // Templates are verified as an instance (`@svc`), as systemctl would start them.
    const units = files.map((f) => join(dir, f.replace('@.', '@svc.')));
    for (const f of files) if (f.includes('@.')) writeFileSync(join(dir, f.replace('@.', '@svc.')), readFileSync(join(dir, f)));
    const r = spawnSync('systemd-analyze', ['verify', ...units], { encoding: 'utf8', cwd: dir });
    expect([r.status, r.stderr]).to.deep.equal([0, '']);
  });

  it('a misspelt directive is reported (the check above can fail)', () => {
    const bad = join(dir, 'misspelt.service');
    writeFileSync(bad, '[Service]\nExecStrat=/bin/true\nExecStart=/bin/true\n');
    const r = spawnSync('systemd-analyze', ['verify', bad], { encoding: 'utf8', cwd: dir });
    expect(r.stderr).to.contain("Unknown key 'ExecStrat'");
  });
});
