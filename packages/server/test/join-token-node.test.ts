// A node that holds a join token and no PSK joins the cluster (docs/spec.md §3.9): it trusts the
// CA bundle only if its root has the hash the token names, registers once with the token, bound
// to the token's AZ; a second node presenting the same token is refused. Real `serve` runtimes
// (LevelDB on disk, real sockets on 127.75.0.0/16, the cluster VIP 127.74.10.1).
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { readJoinTokenClaims } from '@adrestia/pki-core/registration';
import { loadConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { DEV_PORTS, devNodes } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { httpCall, jsonOf } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';
import { waitFor } from './helpers/wait.ts';

const BASE = 74;
const CLIENT = '127.75.0.200';

describe('join tokens end to end: a node with a token and no PSK registers once', function () {
  this.timeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-token-node-'));
  const [founderNode, joinerNode, thirdNode] = devNodes(1, 3, BASE) as [ReturnType<typeof devNodes>[0], ReturnType<typeof devNodes>[0], ReturnType<typeof devNodes>[0]];
  const env = { ...process.env };
  const handles: ServeHandle[] = [];
  let root: string;
  let token: string;
  let tokenFile: string;

  before(async () => {
    const secrets = await writeSecrets(dir);
    const founderConfig = await loadConfig(await writeNodeConfig(dir, founderNode, 1, BASE, secrets, 'silent'), env);
    handles.push(await serve(founderConfig, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: true }));
    root = readFileSync(join(founderConfig.dataDir, 'cluster-root.crt'), 'utf8');
    const minted = await httpCall(`https://${founderNode.host}:${DEV_PORTS.https}/api/v1/join-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${readFileSync(secrets.adminTokenFile, 'utf8').trim()}` },
      body: Buffer.from(JSON.stringify({ az: 'az1', ttlSeconds: 600 })),
      timeoutMs: 20_000,
      maxResponseBytes: 1 << 20,
      ca: root,
      serverNode: true,
      localAddress: CLIENT,
    });
    expect(minted.status, minted.body.toString()).to.equal(201);
    token = (jsonOf(minted) as { token: string }).token;
    tokenFile = join(dir, 'secrets', 'join-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  });

  after(async () => {
    for (const h of handles.reverse()) await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the token names the cluster root by its SHA-256, so a node without the PSK can pin it', () => {
    const claims = readJoinTokenClaims(token);
    const rootDer = new X509Certificate(root).raw;
    expect(claims.rootSha256).to.equal(createHash('sha256').update(rootDer).digest('hex'));
    expect(claims.az).to.equal('az1');
  });

  it('a node configured with only the token (no authPskFile) registers and becomes ready; its certificates chain to the root', async () => {
    const secrets = await writeSecrets(dir);
    const path = await writeNodeConfig(dir, joinerNode, 1, BASE, secrets, 'silent', tokenFile);
    const config = await loadConfig(path, { ...process.env });
    expect(config.secrets.authPsk, 'the joiner holds no PSK').to.equal(undefined);
    const handle = await serve(config, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: false });
    handles.push(handle);
    await waitFor('the joiner is ready', () => handle.node.status().ready, 30_000);
    const tls = new X509Certificate(readFileSync(join(config.dataDir, 'node-tls.crt')));
    expect(tls.subjectAltName).to.contain(`IP Address:${joinerNode.host}`);
  });

  it('a second node presenting the same token is refused (ERR_AUTH_TOKEN_USED) and does not start', async () => {
    const secrets = await writeSecrets(dir);
    const config = await loadConfig(await writeNodeConfig(dir, thirdNode, 1, BASE, secrets, 'silent', tokenFile), { ...process.env });
    let refused: unknown = null;
    try {
      handles.push(await serve(config, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: false }));
    } catch (e) {
      refused = e;
    }
    expect((refused as { code?: string } | null)?.code, String(refused)).to.equal('ERR_AUTH_TOKEN_USED');
  });
});
