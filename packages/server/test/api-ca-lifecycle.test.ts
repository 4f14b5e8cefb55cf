// `adrestia-pki cluster rotate-root` and `cluster rotate-kek` (docs/architecture.md §19) through
// the real HTTPS admin routes and the CLI as a child process, against `serve` with a real PkiNode
// (LevelDB on disk, real sockets on 127.251.0.0/16). OpenSSL verifies leaves issued before and
// after the rollover against the old root and against the new one (RFC 4158: through a cross
// certificate given as -untrusted); the KEK rotation is checked on the state the node applied.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { systemRandom } from '@adrestia/consensus';
import { fromPem } from '@adrestia/pki-core';
import { prepareOfflineAzIntermediate, sealedKeysOpenedBy } from '@adrestia/pki-core/node';
import { loadConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets, type DevSecrets } from '../src/dev/files.ts';
import { CLI_PATH } from '../src/dev/processes.ts';
import { DEV_PORTS, devNodes } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';

const BASE = 250; // dev layout: AZ az1 is 127.251.0.0/16, the node 127.251.0.11
const CLIENT = '127.251.0.200';
const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g;

type CliResult = { status: number; stdout: string; stderr: string };
const pemsOf = (text: string): string[] => (text.match(PEM_CERT) ?? []).map((b) => (b.endsWith('\n') ? b : `${b}\n`));

describe('CLI cluster rotate-root and rotate-kek over HTTPS (docs/architecture.md §19)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-lifecycle-'));
  let secrets: DevSecrets;
  let configPath: string;
  let handle: ServeHandle;
  let joiner: ServeHandle | undefined;
  let oldRoot: string;
  let rootFile: string;
  let newKekFile: string;
  const newKekHex = randomBytes(32).toString('hex');

  const file = (name: string, content: string | Buffer, mode = 0o644): string => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode });
    return path;
  };
  const host = (): string => devNodes(1, 1, BASE)[0]!.host;
  const access = (): string[] => ['--url', `https://${host()}:${DEV_PORTS.https}`, '--ca', rootFile, '--token-file', secrets.adminTokenFile, '--from', CLIENT];
  // Asynchronous: the server answering the CLI runs in this process.
  const cli = (args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(process.execPath, ['--conditions=source', '--import', 'tsx', CLI_PATH, ...args, ...access()], { encoding: 'utf8', timeout: 90_000 }, (err, stdout, stderr) =>
        resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
      );
    });
  const get = (path: string): Promise<HttpCallResult> =>
    httpCall(`http://${host()}:${DEV_PORTS.http}${path}`, { timeoutMs: 10_000, maxResponseBytes: 1 << 20, localAddress: CLIENT });
  const post = (path: string, auth: string | null): Promise<HttpCallResult> =>
    httpCall(`https://${host()}:${DEV_PORTS.https}${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(auth === null ? {} : { authorization: auth }) }, body: Buffer.from('{}'),
      timeoutMs: 20_000, maxResponseBytes: 1 << 20, ca: oldRoot, serverNode: true, localAddress: CLIENT,
    });
  const bundle = async (): Promise<{ rootPem: string; rootsPem: string; crossCertificatesPem: string; azIcaPem: string }> => jsonOf(await get('/api/v1/ca')) as never;

  async function start(mayFoundCluster: boolean): Promise<void> {
    handle = await serve(await loadConfig(configPath, { ...process.env }), createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster });
  }
  /** The node's configuration file with `change` applied (the KEK files it names). */
  function editConfig(change: (c: Record<string, unknown>) => void): void {
    const c = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    change(c);
    writeFileSync(configPath, JSON.stringify(c, null, 2));
  }
  /** Issues through the CLI; a 503 ERR_NO_LOCAL_QUORUM (a leader settling in, which asks to retry) is retried for up to 30 s. */
  async function issue(name: string): Promise<{ cert: string; chain: string }> {
    const out = join(dir, name);
    const deadline = Date.now() + 30_000;
    let r = await cli(['issue', '--cn', `${name}.svc.example`, '--san', `dns:${name}.svc.example`, '--profile', 'serverLeaf', '--out', out]);
    while (r.status !== 0 && r.stderr.includes('ERR_NO_LOCAL_QUORUM') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      r = await cli(['issue', '--cn', `${name}.svc.example`, '--san', `dns:${name}.svc.example`, '--profile', 'serverLeaf', '--out', out]);
    }
    expect(r.status, r.stderr).to.equal(0);
    return { cert: `${out}.crt`, chain: readFileSync(`${out}.chain.pem`, 'utf8') };
  }
  function verify(caFile: string, untrusted: string, leaf: string): string {
    const v = spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', caFile, '-untrusted', untrusted, leaf], { encoding: 'utf8' });
    return v.stdout + v.stderr;
  }

  before(async () => {
    secrets = await writeSecrets(dir);
    newKekFile = file('new.kek', `${newKekHex}\n`, 0o600);
    configPath = await writeNodeConfig(dir, devNodes(1, 1, BASE)[0]!, 1, BASE, secrets, 'silent');
    // docs/architecture.md §19.2: the next KEK is on the node before the rotation.
    editConfig((c) => (c['nextKekFile'] = newKekFile));
    await start(true);
    oldRoot = readFileSync(join(dir, 'data', devNodes(1, 1, BASE)[0]!.name, 'cluster-root.crt'), 'utf8');
    rootFile = file('old-root.pem', oldRoot);
  });

  after(async () => {
    await joiner?.stop();
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('docs/spec.md §8.5: both routes refuse without the admin token (401) and with a wrong one (403)', async () => {
    for (const path of ['/api/v1/root-rollovers', '/api/v1/kek-rotations']) {
      expect([(await post(path, null)).status, (await post(path, 'Bearer not-the-admin-token')).status], path).to.deep.equal([401, 403]);
    }
    const r = await cli(['cluster', 'rotate-root', '--subject', 'not a name']);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/^HTTP 400 ERR_SUBJECT_INVALID: /);
    expect((await bundle()).rootsPem).to.equal(oldRoot);
  });

  it('rotate-root prints the new root and both cross certificates; /api/v1/ca lists both roots and both; leaves before and after verify against either root', async () => {
    const before = await issue('before');
    const r = await cli(['cluster', 'rotate-root']);
    expect(r.status, r.stderr).to.equal(0);
    const b = await bundle();
    expect(b.rootPem).to.not.equal(oldRoot);
    expect(pemsOf(b.rootsPem)).to.have.members([b.rootPem, oldRoot]);
    const cross = pemsOf(b.crossCertificatesPem);
    expect(cross).to.have.length(2);
    const newRootFile = file('new-root.pem', b.rootPem);
    const fingerprint = spawnSync('openssl', ['x509', '-in', newRootFile, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).stdout.trim().split('=')[1]!;
    expect(r.stdout).to.match(/^new root: CN=Adrestia Root CA G2,OU=/);
    expect(r.stdout).to.include(`  sha256 fingerprint: ${fingerprint}\n`);
    expect(r.stdout.match(/^cross certificate: /gm)).to.have.length(2);
    expect(r.stdout).to.match(/AZ ICAs re-issued under the new root: az1 \(/);
    // The PEMs printed: the new root, then the cross certificates the cluster now serves.
    expect(pemsOf(r.stdout)).to.deep.equal([b.rootPem, ...pemsOf(r.stdout).slice(1)]);
    expect(pemsOf(r.stdout).slice(1)).to.have.members(cross);

    const after = await issue('after');
    // RFC 4158 §2.3: the chain's intermediates, the new AZ ICA and both cross certificates are
    // offered untrusted; each trust anchor alone must be reached.
    const roots = new Set([oldRoot, b.rootPem]);
    for (const [name, leaf] of [['before', before], ['after', after]] as const) {
      const untrusted = file(`${name}-untrusted.pem`, pemsOf(leaf.chain).filter((p) => !roots.has(p)).join('') + b.azIcaPem + cross.join(''));
      for (const [rootName, caFile] of [['old', rootFile], ['new', newRootFile]] as const) {
        expect(verify(caFile, untrusted, leaf.cert), `${name} leaf against the ${rootName} root`).to.include(': OK');
      }
    }
    // The new AZ ICA chains to the old root only through "new root signed by old root".
    const newIca = file('new-az-ica.pem', b.azIcaPem);
    expect(verify(rootFile, file('cross.pem', cross.join('')), newIca)).to.include(': OK');
    expect(verify(rootFile, file('no-cross.pem', b.rootPem), newIca)).to.not.include(': OK');
  });

  it('docs/architecture.md §19.3: a node joining after the rollover (TLS certificate under the new root) and the founder (under the old root) keep node-to-node mTLS both ways', async () => {
    const node = devNodes(1, 2, BASE)[1]!;
    const path = await writeNodeConfig(dir, node, 1, BASE, secrets, 'silent');
    const c = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...c, nextKekFile: newKekFile }, null, 2));
    joiner = await serve(await loadConfig(path, { ...process.env }), createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: false });
    const b = await bundle();
    const deadline = Date.now() + 30_000;
    const trustFile = (name: string): string => readFileSync(join(dir, 'data', name, 'cluster-root.crt'), 'utf8');
    const founder = devNodes(1, 1, BASE)[0]!.name;
    // Each node's trust, once it has applied the rollover: both roots and both cross certificates.
    while (!(joiner.node.status().ready && [founder, node.name].every((n) => pemsOf(b.rootsPem).every((r) => trustFile(n).includes(r)) && pemsOf(b.crossCertificatesPem).every((x) => trustFile(n).includes(x))))) {
      if (Date.now() > deadline) throw new Error('the joiner never became ready trusting both roots');
      await new Promise((r) => setTimeout(r, 200));
    }
    // The joiner's TLS certificate chains to the new root only through the new AZ ICA; the founder's to the old root.
    const joinerTls = join(dir, 'data', node.name, 'node-tls.crt');
    const founderTls = join(dir, 'data', founder, 'node-tls.crt');
    const newRootFile = file('new-root-19-3.pem', b.rootPem);
    expect(verify(newRootFile, joinerTls, joinerTls)).to.include(': OK');
    expect(verify(rootFile, joinerTls, joinerTls)).to.not.include(': OK');
    expect(verify(rootFile, founderTls, founderTls)).to.include(': OK');
    // The joiner issues through its local leader, the founder (peer HTTPS and the Raft mesh).
    const leaf = await joiner.node.issue({ csr: csrPem(dir), profile: 'serverLeaf', requester: 'test:joiner' });
    expect(leaf.certificatePem).to.match(/BEGIN CERTIFICATE/);
    expect(joiner.node.status().ready && handle.node.status().ready).to.equal(true);
  });

  /** How many of the sealed keys in the state the node applied the KEK opens. */
  const sealedOpenedBy = (kekHex: string): Promise<{ opened: number; of: number }> => sealedKeysOpenedBy(handle.node.app.store, Buffer.from(kekHex, 'hex'));

  it('rotate-kek: refuses a loose file naming it and a mismatched --old-kek (ERR_KEK_MISMATCH), changing nothing; then re-seals every key, and the node restarts on the new KEK alone', async () => {
    const oldKekHex = Buffer.from(readFileSync(secrets.kekFile, 'utf8').trim(), 'hex').toString('hex');
    const sealed = await sealedOpenedBy(oldKekHex);
    expect(sealed.of).to.be.greaterThan(2);
    expect(sealed.opened).to.equal(sealed.of);

    const loose = file('loose.kek', `${newKekHex}\n`, 0o644);
    const l = await cli(['cluster', 'rotate-kek', '--old-kek', secrets.kekFile, '--new-kek', loose]);
    expect(l.status).to.equal(1);
    expect(l.stderr).to.include(`ERR_SECRET_FILE_MODE: --new-kek: ${loose} has mode 0644; secret files must be 0600 or 0400`);
    const wrongFile = file('wrong.kek', randomBytes(32).toString('hex'), 0o600);
    const w = await cli(['cluster', 'rotate-kek', '--old-kek', wrongFile, '--new-kek', newKekFile]);
    expect(w.status).to.equal(1);
    expect(w.stderr).to.match(/^HTTP 422 ERR_KEK_MISMATCH: oldKek: it does not open /);
    for (const out of [l.stdout + l.stderr, w.stdout + w.stderr]) expect(out).to.not.include(newKekHex).and.not.include(oldKekHex);
    expect(await sealedOpenedBy(oldKekHex)).to.deep.equal(sealed);

    const ok = await cli(['cluster', 'rotate-kek', '--old-kek', secrets.kekFile, '--new-kek', newKekFile]);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.include(`re-sealed ${sealed.of} keys under the new KEK:\n`);
    expect(ok.stdout + ok.stderr).to.not.include(newKekHex).and.not.include(oldKekHex);
    expect(await sealedOpenedBy(oldKekHex)).to.deep.equal({ opened: 0, of: sealed.of });
    expect(await sealedOpenedBy(newKekHex)).to.deep.equal({ opened: sealed.of, of: sealed.of });

    // Issuance and AZ ICA renewal (a rollover re-issues every AZ ICA) on the new KEK.
    await issue('after-kek');
    const rolled = await cli(['cluster', 'rotate-root']);
    expect(rolled.status, rolled.stderr).to.equal(0);
    const now = await sealedOpenedBy(newKekHex);
    expect(now.opened).to.equal(now.of);

    // docs/architecture.md §19.2 step 3: kekFile now names the new KEK and nextKekFile goes; restarted, the node signs.
    await handle.stop();
    editConfig((c) => {
      c['kekFile'] = newKekFile;
      delete c['nextKekFile'];
    });
    await start(false);
    // The restarted node elects itself again first (503 ERR_NO_LOCAL_QUORUM until then).
    const deadline = Date.now() + 30_000;
    while ((jsonOf(await get('/api/v1/status')) as { ready?: boolean }).ready !== true) {
      if (Date.now() > deadline) throw new Error('the restarted node never became ready');
      await new Promise((r) => setTimeout(r, 200));
    }
    await issue('after-restart');
    expect(await sealedOpenedBy(oldKekHex)).to.deep.equal({ opened: 0, of: now.of });
  });
});

describe('CLI cluster rotate-root under a root held offline: --pending, openssl signs the TBS, --signed', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-lifecycle-offline-'));
  let secrets: DevSecrets;
  let handle: ServeHandle;
  let rootFile: string;
  const rootKey = join(dir, 'offline-root.key');
  const clusterId = randomUUID();

  const host = (): string => devNodes(1, 1, BASE)[0]!.host;
  const cli = (args: string[]): Promise<CliResult> =>
    new Promise((resolve) => {
      const access = ['--url', `https://${host()}:${DEV_PORTS.https}`, '--ca', rootFile, '--token-file', secrets.adminTokenFile, '--from', CLIENT];
      execFile(process.execPath, ['--conditions=source', '--import', 'tsx', CLI_PATH, ...args, ...access], { encoding: 'utf8', timeout: 90_000 }, (err, stdout, stderr) =>
        resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
      );
    });
  const openssl = (args: string[]): void => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
  };

  before(async () => {
    secrets = await writeSecrets(dir);
    const configPath = await writeNodeConfig(dir, devNodes(1, 1, BASE)[0]!, 1, BASE, secrets, 'silent');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', rootKey]);
    rootFile = join(dir, 'offline-root.pem');
    openssl(['req', '-x509', '-new', '-key', rootKey, '-sha256', '-days', '3650', '-subj', '/OU=ops/CN=Offline Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', rootFile]);
    const rootCert = fromPem(readFileSync(rootFile, 'utf8'));
    const kek = Buffer.from(readFileSync(secrets.kekFile, 'utf8').trim(), 'hex');
    // The first AZ ICA under the offline root, signed out of band before the cluster exists.
    const pending = await prepareOfflineAzIntermediate({ rootCert, az: 'az1', clusterId, kek, nowMs: Date.now(), serials: systemRandom });
    writeFileSync(join(dir, 'az1.tbs'), pending.tbsDer);
    openssl(['dgst', '-sha256', '-sign', rootKey, '-out', join(dir, 'az1.sig'), join(dir, 'az1.tbs')]);
    const offlineRoot = { clusterId, rootCert, pending, signature: new Uint8Array(readFileSync(join(dir, 'az1.sig'))) };
    handle = await serve(await loadConfig(configPath, { ...process.env }), createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: true, offlineRoot });
  });

  after(async () => {
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the first run writes the TBS to sign; a forged signature is refused (400 ERR_INPUT_INVALID naming signature); the offline signature completes it and the chains verify against both roots', async () => {
    const pendingFile = join(dir, 'rollover.json');
    const none = await cli(['cluster', 'rotate-root']);
    expect([none.status, none.stderr]).to.deep.equal([1, 'the cluster root is held offline: run again with --pending FILE to receive the certificate to sign\n']);
    const first = await cli(['cluster', 'rotate-root', '--pending', pendingFile]);
    expect(first.status, first.stderr).to.equal(0);
    expect(first.stdout).to.include(`  openssl dgst -sha256 -sign ROOT.key -out SIG ${pendingFile}.tbs\n`);
    expect(statSync(pendingFile).mode & 0o777).to.equal(0o600);
    // Nothing is committed by the first step.
    expect(pemsOf((await handle.node.caBundle()).rootsPem)).to.have.length(1);

    const otherKey = join(dir, 'other.key');
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKey]);
    openssl(['dgst', '-sha256', '-sign', otherKey, '-out', join(dir, 'forged.sig'), `${pendingFile}.tbs`]);
    const forged = await cli(['cluster', 'rotate-root', '--pending', pendingFile, '--signed', join(dir, 'forged.sig')]);
    expect(forged.status).to.equal(1);
    expect(forged.stderr).to.match(/^HTTP 400 ERR_INPUT_INVALID: signature: it does not verify with the key of the offline root /);
    expect(pemsOf((await handle.node.caBundle()).rootsPem)).to.have.length(1);

    openssl(['dgst', '-sha256', '-sign', rootKey, '-out', join(dir, 'cross.sig'), `${pendingFile}.tbs`]);
    const done = await cli(['cluster', 'rotate-root', '--pending', pendingFile, '--signed', join(dir, 'cross.sig')]);
    expect(done.status, done.stderr).to.equal(0);
    expect(done.stdout).to.match(/^new root: CN=Adrestia Root CA G2,OU=/);
    expect(done.stdout).to.match(/AZ ICAs re-issued under the new root: az1 \(/);
    const b = await handle.node.caBundle();
    const cross = pemsOf(b.crossCertificatesPem);
    expect(cross).to.have.length(2);
    const newRootFile = join(dir, 'new-root.pem');
    writeFileSync(newRootFile, b.rootPem);
    // A leaf issued now, by the node ICA under the AZ ICA the offline root signed.
    const leaf = await handle.node.issue({ csr: csrPem(dir), profile: 'serverLeaf', requester: 'test:offline' });
    writeFileSync(join(dir, 'leaf.pem'), leaf.certificatePem);
    const roots = new Set([readFileSync(rootFile, 'utf8'), b.rootPem]);
    writeFileSync(join(dir, 'untrusted.pem'), pemsOf(leaf.chainPem).filter((p) => !roots.has(p)).join('') + b.azIcaPem + cross.join(''));
    for (const caFile of [rootFile, newRootFile]) {
      const v = spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', caFile, '-untrusted', join(dir, 'untrusted.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
      expect(v.stdout + v.stderr, caFile).to.include(': OK');
    }
  });
});

/** A CSR made by OpenSSL for `offline.svc.example`. */
function csrPem(dir: string): string {
  const key = join(dir, 'leaf.key');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/CN=offline.svc.example', '-addext', 'subjectAltName=DNS:offline.svc.example', '-out', join(dir, 'leaf.csr')], { stdio: 'pipe' });
  return readFileSync(join(dir, 'leaf.csr'), 'utf8');
}
