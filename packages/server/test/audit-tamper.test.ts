// Tamper-evident history (docs/architecture.md §18), in process: three `serve` runtimes of one AZ
// (real PkiNodes, LevelDB on disk, real sockets on 127.241.0.0/16, dev base 240) issue and revoke,
// the leaders sign checkpoints of both logs, `adrestia-pki audit verify` (a child process) passes
// on every node; then, one follower stopped, ONE command's bytes in its audit table are edited in
// LevelDB directly, and after its restart the verifier names that command's position and type on
// it, with exit 1, while the untouched nodes still pass.
import { execFile, execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { openLevelDb, plainMessagePack } from '@adrestia/consensus';
import { buildCsr, parseSanText, toPem, verifyAuditHistory, type AuditHistoryInput } from '@adrestia/pki-core';
import { loadConfig, type NodeConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { CLI_PATH } from '../src/dev/processes.ts';
import { DEV_PORTS, devNodes, type DevNode } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';
import { waitFor } from './helpers/wait.ts';

const BASE = 240; // dev layout: AZ az1 is 127.241.0.0/16, the nodes 127.241.0.11-13
const CLIENT = '127.241.0.200';
const TAMPER_CN = 'tamper-me.svc.test';

/** `audit` keys (pki-core state/audit-chain.ts auditEntryKey). */
const entryKey = (log: 'global' | 'local', position: number): string => `${log}\x00${position.toString(16).padStart(16, '0')}`;

type ErrorBody = { error: { code: string; message: string; field?: string } };
interface PageJson {
  log: string;
  tier: 'global' | 'local';
  az: string;
  head: { position: number; hash: string };
  checkpoint: { position: number; eventPosition: number } | null;
  entries: { position: number; prev: string; hash: string; bytes: string; type: string; summary: Record<string, unknown> }[];
  next: number | null;
}

describe('tamper-evident history: signed checkpoints, GET /api/v1/audit, adrestia-pki audit verify', function () {
  this.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-audit-'));
  const nodes = devNodes(1, 3, BASE) as [DevNode, DevNode, DevNode];
  const configs: NodeConfig[] = [];
  const handles: (ServeHandle | undefined)[] = [];
  let rootFile: string;
  let tokenFile: string;
  let token: string;
  /** The follower whose history is edited (index into `nodes`), and the untouched ones. */
  let tampered = -1;
  const untouched = (): number[] => [0, 1, 2].filter((i) => i !== tampered);

  const start = async (i: number): Promise<void> => {
    handles[i] = await serve(configs[i]!, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: i === 0 });
    await waitFor(`${nodes[i]!.name} ready`, () => handles[i]!.node.status().ready, 60_000);
  };
  const stop = async (i: number): Promise<void> => {
    await handles[i]!.stop();
    handles[i] = undefined;
  };

  before(async () => {
    const secrets = await writeSecrets(dir);
    for (const node of nodes) {
      // Checkpoints every second (a maintenance round is 2 s here): the test waits for them.
      const loaded = await loadConfig(await writeNodeConfig(dir, node, 1, BASE, secrets, 'silent'), { ...process.env });
      configs.push({ ...loaded, audit: { checkpointEverySeconds: 1, checkpointEveryCommands: 1000, retainEntriesMax: undefined } });
    }
    for (const i of [0, 1, 2]) await start(i);
    rootFile = join(configs[0]!.dataDir, 'cluster-root.crt');
    tokenFile = secrets.adminTokenFile;
    token = readFileSync(tokenFile, 'utf8').trim();
  });

  after(async () => {
    for (const h of handles.reverse()) await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const https = (method: 'GET' | 'POST', path: string, body?: unknown, auth: string | null = `Bearer ${token}`, at = 0): Promise<HttpCallResult> =>
    httpCall(`https://${nodes[at]!.host}:${DEV_PORTS.https}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(auth === null ? {} : { authorization: auth }) },
      ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)) }),
      timeoutMs: 20_000,
      maxResponseBytes: 64 << 20,
      ca: readFileSync(rootFile, 'utf8'),
      serverNode: true,
      localAddress: CLIENT,
    });
  const page = async (log: string, since = 0, limit = 1000, at = 0): Promise<PageJson> => {
    const r = await https('GET', `/api/v1/audit?log=${log}&since=${since}&limit=${limit}`, undefined, undefined, at);
    expect(r.status, r.body.toString()).to.equal(200);
    return jsonOf(r) as PageJson;
  };
  const refusal = async (query: string, auth?: string | null): Promise<[number, string | undefined, string | undefined]> => {
    const r = await https('GET', `/api/v1/audit${query}`, undefined, auth);
    const e = (jsonOf(r) as ErrorBody | undefined)?.error;
    return [r.status, e?.code, e?.field];
  };
  const verify = (at: number): Promise<{ status: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const argv = ['--conditions=source', '--import', 'tsx', CLI_PATH, 'audit', 'verify', '--url', `https://${nodes[at]!.host}:${DEV_PORTS.https}`, '--ca', rootFile, '--token-file', tokenFile, '--from', CLIENT];
      execFile(process.execPath, argv, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
      });
    });
  const csrFor = (cn: string): string => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return toPem(buildCsr({ subject: `CN=${cn}`, privateKey, sans: [parseSanText(`dns:${cn}`, 'san[0]')] }), 'CERTIFICATE REQUEST');
  };
  /** Polls until every node holds, for both logs, a checkpoint attesting at least the heads of now. */
  const checkpointed = async (): Promise<void> => {
    const targets = await Promise.all(['global', 'az1'].map(async (log) => ({ log, position: (await page(log, 0, 1)).head.position })));
    for (const at of [0, 1, 2]) {
      for (const { log, position } of targets) {
        for (let i = 0; ; i++) {
          const p = await page(log, 0, 1, at);
          if ((p.checkpoint?.position ?? 0) >= position) break;
          if (i >= 60) throw new Error(`${nodes[at]!.name}: no checkpoint of ${log} at ${position} or later: ${JSON.stringify(p.checkpoint)}`);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  };

  it('GET /api/v1/audit needs the admin token and names the parameter at fault', async () => {
    expect(await refusal('?log=global', null)).to.deep.equal([401, 'ERR_UNAUTHORIZED', undefined]);
    expect(await refusal('?log=global', 'Bearer wrong')).to.deep.equal([403, 'ERR_FORBIDDEN', undefined]);
    expect(await refusal('')).to.deep.equal([400, 'ERR_INPUT_INVALID', 'log']);
    expect(await refusal('?log=global&since=-1')).to.deep.equal([400, 'ERR_INPUT_INVALID', 'since']);
    expect(await refusal('?log=global&since=1e3')).to.deep.equal([400, 'ERR_INPUT_INVALID', 'since']);
    expect(await refusal('?log=global&limit=0')).to.deep.equal([400, 'ERR_INPUT_INVALID', 'limit']);
    expect(await refusal('?log=global&limit=1001')).to.deep.equal([400, 'ERR_INPUT_INVALID', 'limit']);
    // Another AZ's local log is held by that AZ's nodes only.
    expect(await refusal('?log=az9')).to.deep.equal([421, 'ERR_WRONG_AZ', 'log']);
  });

  it('pages through a log: positions in order, each linked to the one before, `next` where the page ends', async () => {
    const first = await page('global', 0, 2);
    expect(first.entries.map((e) => e.position)).to.deep.equal([1, 2]);
    expect(first.entries[0]!.prev).to.equal('0'.repeat(64));
    expect(first.entries[1]!.prev).to.equal(first.entries[0]!.hash);
    expect(first.entries[0]!.type).to.equal('ClusterCreated');
    expect(first.next).to.equal(2);
    const second = await page('global', 2, 2);
    expect(second.entries[0]!.position).to.equal(3);
    expect(second.entries[0]!.prev).to.equal(first.entries[1]!.hash);
  });

  it('issued and revoked certificates are checkpointed in both logs, and every node verifies', async () => {
    const serials: string[] = [];
    for (const cn of ['a.svc.test', TAMPER_CN, 'c.svc.test']) {
      const r = await https('POST', '/api/v1/certificates', { profile: 'serverLeaf', csr: csrFor(cn), lifetimeSeconds: 3600 });
      expect(r.status, r.body.toString()).to.equal(201);
      serials.push((jsonOf(r) as { serialHex: string }).serialHex);
    }
    for (const serialHex of [serials[0], serials[2]]) expect((await https('POST', '/api/v1/revocations', { serialHex, reason: 'superseded' })).status).to.equal(200);
    await checkpointed();
    const local = await page('az1');
    expect(local.entries.filter((e) => e.type === 'Issued')).to.have.length(3);
    const checkpoints = local.entries.filter((e) => e.type === 'AuditCheckpoint');
    expect(checkpoints.length).to.be.greaterThan(0);
    expect(checkpoints[0]!.summary).to.include({ log: 'local', az: 'az1' });
    expect((await page('global')).entries.filter((e) => e.type === 'Revoked')).to.have.length(2);
    for (const at of [0, 1, 2]) {
      const clean = await verify(at);
      expect(clean.status, clean.stdout + clean.stderr).to.equal(0);
      expect(clean.stdout).to.match(/^global: ok, positions \d+\.\.\d+, \d+ signed checkpoint\(s\) match/m);
      expect(clean.stdout).to.match(/^az1: ok, positions \d+\.\.\d+, \d+ signed checkpoint\(s\) match/m);
    }
    // The founder's history starts at genesis.
    expect((await verify(0)).stdout).to.match(/^global: ok, positions 1\.\./m);
    tampered = [1, 2].find((i) => !handles[i]!.node.status().pkiLocalLeader)!;
  });

  it('a checkpoint checks out with openssl: its chain verifies to the root, its signature over the documented encoding', async () => {
    const entry = (await page('az1')).entries.find((e) => e.type === 'AuditCheckpoint')!;
    const ev = plainMessagePack.unpack(Buffer.from(entry.bytes, 'base64')) as { log: string; az: string; position: number; head: Uint8Array; signerNodeId: string; chainDer: Uint8Array[]; signature: Uint8Array; at: number };
    const [nodeIca, azIca] = ev.chainDer.map((der) => new X509Certificate(Buffer.from(der)));
    const file = (name: string, data: string | Uint8Array): string => {
      writeFileSync(join(dir, name), data);
      return join(dir, name);
    };
    const chainOk = execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', rootFile, '-untrusted', file('az-ica.pem', azIca!.toString()), file('node-ica.pem', nodeIca!.toString())], { encoding: 'utf8' });
    expect(chainOk).to.contain('node-ica.pem: OK');
    // pki-core state/audit-chain.ts auditCheckpointSigningBytes, written out independently.
    const signed = plainMessagePack.pack(['adrestia-pki audit checkpoint v1', ev.log, ev.az, ev.position, ev.head, ev.signerNodeId, ev.at]);
    const args = ['dgst', '-sha256', '-verify', file('signer.pub.pem', nodeIca!.publicKey.export({ format: 'pem', type: 'spki' })), '-signature', file('checkpoint.sig', ev.signature), file('checkpoint.bin', signed)];
    expect(execFileSync('openssl', args, { encoding: 'utf8' })).to.contain('Verified OK');
  });

  it('verifyAuditHistory refuses a checkpoint under another root, or with one signature byte changed', async () => {
    const p = await page('global');
    const input = (entries: PageJson['entries'], roots: X509Certificate[]): AuditHistoryInput => ({
      log: p.log,
      tier: p.tier,
      az: p.az,
      head: { position: p.head.position, head: Buffer.from(p.head.hash, 'hex') },
      entries: entries.map((e) => ({ position: e.position, prev: Buffer.from(e.prev, 'hex'), hash: Buffer.from(e.hash, 'hex'), bytes: Buffer.from(e.bytes, 'base64') })),
      roots,
    });
    const root = new X509Certificate(readFileSync(rootFile));
    expect(verifyAuditHistory(input(p.entries, [root])).ok).to.equal(true);
    const otherKey = join(dir, 'other-root.key');
    const otherCert = join(dir, 'other-root.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=Other Root', '-days', '1', '-keyout', otherKey, '-out', otherCert], { stdio: 'ignore' });
    const foreign = verifyAuditHistory(input(p.entries, [new X509Certificate(readFileSync(otherCert))]));
    const at = p.entries.find((e) => e.type === 'AuditCheckpoint')!;
    expect(foreign).to.deep.include({ ok: false });
    expect(foreign.ok ? null : foreign.divergence).to.include({ position: at.position, eventType: 'AuditCheckpoint' });
    expect(foreign.ok ? '' : foreign.divergence.reason).to.contain('does not lead to a trusted root');
    // One byte of the signature changed, and the chain recomputed over the changed bytes: the chain links, the signature fails.
    const ev = plainMessagePack.unpack(Buffer.from(at.bytes, 'base64')) as { signature: Uint8Array };
    const signature = Buffer.from(ev.signature);
    signature[signature.length - 1] = signature[signature.length - 1]! ^ 1;
    const forged = Buffer.from(plainMessagePack.pack({ ...ev, signature }));
    let prev = Buffer.from(at.prev, 'hex');
    const entries = p.entries.map((e) => {
      if (e.position < at.position) return e;
      const bytes = e.position === at.position ? forged : Buffer.from(e.bytes, 'base64');
      const hash = createHash('sha256').update(prev).update(bytes).digest();
      const rewritten = { ...e, prev: prev.toString('hex'), hash: hash.toString('hex'), bytes: bytes.toString('base64') };
      prev = hash;
      return rewritten;
    });
    const bad = verifyAuditHistory({ ...input(entries, [root]), head: { position: p.head.position, head: prev } });
    expect(bad.ok ? '' : `${bad.divergence.position} ${bad.divergence.reason}`).to.equal(`${at.position} checkpoint signed by ${String(at.summary['signerNodeId'])}: the signature does not verify`);
  });

  it('one command edited in the stored history of a follower: verify names its log, position and type there, exit 1; the others pass', async () => {
    const local = await page('az1', 0, 1000, tampered);
    const target = local.entries.find((e) => e.type === 'Issued' && e.summary['subject'] === `CN=${TAMPER_CN}`);
    expect(target, JSON.stringify(local.entries.map((e) => [e.position, e.type, e.summary['subject']]))).to.not.equal(undefined);
    expect(local.checkpoint!.position).to.be.at.least(target!.position);
    await stop(tampered);
    // The state's LevelDB (serve/start-node.ts STATE_DIR), table `audit` (pki-core state/tables.ts).
    const db = await openLevelDb(join(configs[tampered]!.dataDir, 'state'));
    try {
      const audit = db.sublevel<string, Uint8Array>('audit', { keyEncoding: 'utf8', valueEncoding: 'view' });
      const key = entryKey('local', target!.position);
      const stored = await audit.get(key);
      expect(stored, key).to.not.equal(undefined);
      const record = plainMessagePack.unpack(stored!) as { position: number; bytes: Uint8Array };
      expect(record.position).to.equal(target!.position);
      const bytes = Buffer.from(record.bytes);
      // Same length, still a well-formed event: only the name in the certificate's DER differs.
      const at = bytes.indexOf(TAMPER_CN);
      expect(at).to.be.greaterThan(-1);
      bytes.write('tamper-XX', at);
      await audit.put(key, new Uint8Array(plainMessagePack.pack({ ...record, bytes })));
    } finally {
      await db.close();
    }
    await start(tampered);
    const edited = await verify(tampered);
    expect(edited.status, edited.stdout + edited.stderr).to.equal(1);
    expect(edited.stdout).to.match(/^global: ok/m);
    expect(edited.stdout).to.contain(`az1: DIVERGES at position ${target!.position} (Issued)`);
    expect(edited.stdout).to.contain(`expected ${target!.hash}`);
    for (const at of untouched()) {
      const clean = await verify(at);
      expect(clean.status, `${nodes[at]!.name}: ${clean.stdout}${clean.stderr}`).to.equal(0);
    }
  });

  it('the history rewritten so that every hash links again: the signed checkpoint names the position it attests, exit 1', async () => {
    const local = await page('az1', 0, 1000, tampered);
    // The edit of the previous test is in the certificate's DER, the first place the name occurs.
    const tamperedAt = local.entries.find((e) => e.type === 'Issued' && e.summary['subject'] === `CN=${TAMPER_CN}`)!.position;
    const checkpoint = local.entries.find((e) => e.type === 'AuditCheckpoint' && Number(e.summary['position']) >= tamperedAt)!;
    await stop(tampered);
    const db = await openLevelDb(join(configs[tampered]!.dataDir, 'state'));
    try {
      // What an attacker with the disk but no node ICA key can do: recompute every hash from the
      // edited command on, and the head, so the stored chain links from genesis to its end.
      const audit = db.sublevel<string, Uint8Array>('audit', { keyEncoding: 'utf8', valueEncoding: 'view' });
      const meta = db.sublevel<string, Uint8Array>('meta', { keyEncoding: 'utf8', valueEncoding: 'view' });
      type Entry = { position: number; seq: number; prev: Uint8Array; hash: Uint8Array; bytes: Uint8Array };
      let prev = (plainMessagePack.unpack((await audit.get(entryKey('local', tamperedAt)))!) as Entry).prev;
      const head = plainMessagePack.unpack((await meta.get('auditLocal'))!) as { position: number; head: Uint8Array };
      for (let position = tamperedAt; position <= head.position; position++) {
        const entry = plainMessagePack.unpack((await audit.get(entryKey('local', position)))!) as Entry;
        const hash = createHash('sha256').update(prev).update(entry.bytes).digest();
        await audit.put(entryKey('local', position), new Uint8Array(plainMessagePack.pack({ ...entry, prev, hash })));
        prev = hash;
      }
      await meta.put('auditLocal', new Uint8Array(plainMessagePack.pack({ position: head.position, head: prev })));
    } finally {
      await db.close();
    }
    await start(tampered);
    const rewritten = await verify(tampered);
    expect(rewritten.status, rewritten.stdout + rewritten.stderr).to.equal(1);
    const attested = Number(checkpoint.summary['position']);
    expect(rewritten.stdout).to.contain(`az1: DIVERGES at position ${attested} (`);
    expect(rewritten.stdout).to.contain(`the checkpoint at position ${checkpoint.position}, signed by ${String(checkpoint.summary['signerNodeId'])}, attests another head`);
    expect(rewritten.stdout).to.contain(`expected ${String(checkpoint.summary['head'])}`);
    expect((await verify(untouched()[0]!)).status).to.equal(0);
  });
});
