// `adrestia-pki needs-renewal CERT` (src/cli/needs-renewal-command.ts), as systemd's
// ExecCondition= reads it: 0 past 2/3 of the validity, 1 before, 255 when the file holds no
// certificate. Certificates made by OpenSSL, the older one under faketime.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CLI_PATH } from '../src/dev/processes.ts';

function cli(args: string[]): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.once('close', (status) => resolve({ status, stdout }));
  });
}

/** A self-signed 30-day certificate issued `daysAgo` days ago (faketime moves OpenSSL's clock). */
function selfSigned(dir: string, name: string, daysAgo: number): string {
  const path = join(dir, `${name}.pem`);
  const openssl = ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-subj', `/CN=${name}`, '-days', '30', '-out', path];
  const [file, ...args] = daysAgo === 0 ? openssl : ['faketime', '-f', `-${daysAgo}d`, ...openssl];
  try {
    execFileSync(file!, args, { stdio: 'ignore' });
  } catch (e) {
    throw new Error(`${file} is needed for this test (Debian packages openssl, faketime): ${(e as Error).message}`, { cause: e });
  }
  return path;
}

describe('adrestia-pki needs-renewal: exit 0 once 2/3 of the lifetime has passed, else 1', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-needs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a fresh certificate: 1; one 25 of 30 days old: 0; a file with no certificate: 255', async () => {
    const fresh = selfSigned(dir, 'fresh', 0);
    const old = selfSigned(dir, 'old', 25);
    const empty = join(dir, 'empty.pem');
    writeFileSync(empty, 'no certificate here\n');
    const [a, b, c] = await Promise.all([cli(['needs-renewal', fresh]), cli(['needs-renewal', old]), cli(['needs-renewal', empty])]);
    expect(a.status, a.stdout).to.equal(1);
    expect(a.stdout).to.contain('not yet due');
    expect(b.status, b.stdout).to.equal(0);
    expect(b.stdout).to.contain('due for renewal since');
    expect(c.status).to.equal(255);
  });
});
