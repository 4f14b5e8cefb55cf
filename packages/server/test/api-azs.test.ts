// Admin AZ routes over HTTPS, in process: `serve` with a real PkiNode (LevelDB on disk, real
// sockets on 127.64.0.0/16): PUT /api/v1/azs/:name declares an AZ ahead of its nodes, DELETE
// decommissions one; bad input is a 4xx naming the field; `adrestia-pki cluster az` drives both.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { CLI_PATH } from '../src/dev/processes.ts';
import { DEV_PORTS, devNodes } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';

const BASE = 64; // dev layout: AZ az1 is 127.65.0.0/16, the node 127.65.0.11
const CLIENT = '127.65.0.200';

type ErrorBody = { error: { code: string; field?: string } };
const codeOf = (r: HttpCallResult): [number, string | undefined, string | undefined] => {
  const e = (jsonOf(r) as ErrorBody | undefined)?.error;
  return [r.status, e?.code, e?.field];
};

describe('admin AZ routes over HTTPS: PUT|DELETE /api/v1/azs/:name and `adrestia-pki cluster az`', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-azs-'));
  let handle: ServeHandle;
  let root: string;
  let token: string;
  let tokenFile: string;

  before(async () => {
    const secrets = await writeSecrets(dir);
    const node = devNodes(1, 1, BASE)[0]!;
    const configPath = await writeNodeConfig(dir, node, 1, BASE, secrets, 'silent');
    const config = await loadConfig(configPath, process.env);
    handle = await serve(config, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: true });
    root = readFileSync(join(config.dataDir, 'cluster-root.crt'), 'utf8');
    tokenFile = secrets.adminTokenFile;
    token = readFileSync(tokenFile, 'utf8').trim();
  });

  after(async () => {
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const host = (): string => devNodes(1, 1, BASE)[0]!.host;
  const https = (method: 'PUT' | 'DELETE' | 'POST', path: string, body?: unknown, auth: string | null = `Bearer ${token}`): Promise<HttpCallResult> =>
    httpCall(`https://${host()}:${DEV_PORTS.https}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(auth === null ? {} : { authorization: auth }) },
      ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)) }),
      timeoutMs: 20_000,
      maxResponseBytes: 1 << 20,
      ca: root,
      serverNode: true,
      localAddress: CLIENT,
    });
  const azNames = async (): Promise<string[]> => (await handle.node.app.store.azs()).map((a) => a.name).sort();

  it('docs/spec.md §8.5: without the admin token 401 ERR_UNAUTHORIZED, with a wrong one 403 ERR_FORBIDDEN', async () => {
    for (const method of ['PUT', 'DELETE'] as const) {
      expect(codeOf(await https(method, '/api/v1/azs/az9', {}, null)).slice(0, 2)).to.deep.equal([401, 'ERR_UNAUTHORIZED']);
      expect(codeOf(await https(method, '/api/v1/azs/az9', {}, 'Bearer wrong')).slice(0, 2)).to.deep.equal([403, 'ERR_FORBIDDEN']);
    }
  });

  it('bad declarations are 4xx naming the field and commit nothing', async () => {
    const good = { subnets: ['10.9.0.0/16'], localVip: '10.9.0.1' };
    const cases: [string, unknown, [number, string, string]][] = [
      ['/api/v1/azs/-x', good, [400, 'ERR_INPUT_INVALID', 'name']],
      ['/api/v1/azs/az9', { localVip: '10.9.0.1' }, [400, 'ERR_INPUT_INVALID', 'subnets']],
      ['/api/v1/azs/az9', { ...good, subnets: 'x' }, [400, 'ERR_INPUT_INVALID', 'subnets']],
      ['/api/v1/azs/az9', { ...good, subnets: ['10.9.0.0/33'] }, [400, 'ERR_INPUT_INVALID', 'subnets[0]']],
      ['/api/v1/azs/az9', { ...good, subnets: ['127.65.128.0/17'] }, [400, 'ERR_INPUT_INVALID', 'subnets[0]']],
      ['/api/v1/azs/az9', { subnets: good.subnets }, [400, 'ERR_INPUT_INVALID', 'localVip']],
      ['/api/v1/azs/az9', { ...good, localVip: '10.8.0.1' }, [400, 'ERR_INPUT_INVALID', 'localVip']],
      ['/api/v1/azs/az1', { subnets: ['10.1.0.0/16'], localVip: '10.1.0.1' }, [409, 'ERR_ALREADY_EXISTS', 'name']],
    ];
    for (const [path, body, expected] of cases) expect(codeOf(await https('PUT', path, body)), `${path} ${JSON.stringify(body)}`).to.deep.equal(expected);
    expect(await azNames()).to.deep.equal(['az1']);
  });

  it('declares an AZ (201), then removes it (200); the last founded AZ is refused 409, an unknown one 404', async () => {
    expect(codeOf(await https('DELETE', '/api/v1/azs/az1')).slice(0, 2)).to.deep.equal([409, 'ERR_AZ_LAST']);
    const declared = await https('PUT', '/api/v1/azs/az9', { subnets: ['10.9.0.0/16', '10.19.0.0/16'], localVip: '10.9.0.1' });
    expect(declared.status, declared.body.toString()).to.equal(201);
    expect(jsonOf(declared)).to.deep.equal({ name: 'az9', subnets: ['10.9.0.0/16', '10.19.0.0/16'], localVip: '10.9.0.1', phase: 'declared' });
    expect(await azNames()).to.deep.equal(['az1', 'az9']);
    const again = await https('PUT', '/api/v1/azs/az9', { subnets: ['10.19.0.0/16', '10.9.0.0/16'], localVip: '10.9.0.1' });
    expect(again.status, 'a retried PUT of the same declaration').to.equal(200);
    expect(codeOf(await https('PUT', '/api/v1/azs/az9', { subnets: ['10.9.0.0/16'], localVip: '10.9.0.1' }))).to.deep.equal([409, 'ERR_ALREADY_EXISTS', 'name']);
    // az9 has no node yet: az1 is still the last founded AZ.
    expect(codeOf(await https('DELETE', '/api/v1/azs/az1'))).to.deep.equal([409, 'ERR_AZ_LAST', 'name']);
    const removed = await https('DELETE', '/api/v1/azs/az9');
    expect(removed.status, removed.body.toString()).to.equal(200);
    expect(jsonOf(removed)).to.deep.equal({ name: 'az9', nodes: [], revoked: [] });
    expect(await azNames()).to.deep.equal(['az1']);
    expect(codeOf(await https('DELETE', '/api/v1/azs/az9'))).to.deep.equal([404, 'ERR_AZ_UNKNOWN', 'name']);
  });

  it('POST /api/v1/azs/:name/refound refuses, changing nothing: a bad force 400, an unknown AZ 404, the asking node\'s own AZ 409 ERR_AZ_SELF', async () => {
    expect(codeOf(await https('POST', '/api/v1/azs/az1/refound', {}, null)).slice(0, 2)).to.deep.equal([401, 'ERR_UNAUTHORIZED']);
    expect(codeOf(await https('POST', '/api/v1/azs/az1/refound', { force: 'yes' }))).to.deep.equal([400, 'ERR_INPUT_INVALID', 'force']);
    expect(codeOf(await https('POST', '/api/v1/azs/-x/refound', {}))).to.deep.equal([400, 'ERR_INPUT_INVALID', 'name']);
    expect(codeOf(await https('POST', '/api/v1/azs/az9/refound', {}))).to.deep.equal([404, 'ERR_AZ_UNKNOWN', 'name']);
    // Its own seat would leave the group the rest commits through: another AZ must ask.
    expect(codeOf(await https('POST', '/api/v1/azs/az1/refound', { force: true }))).to.deep.equal([409, 'ERR_AZ_SELF', 'name']);
    expect(await handle.node.app.store.getAz('az1')).to.deep.include({ phase: 'active' });
    expect((await handle.node.app.store.nodes()).map((n) => n.az)).to.deep.equal(['az1']);
  });

  it('CLI `adrestia-pki cluster az add|remove`; usage errors exit 2 naming the argument, refusals exit 1 with the code', async () => {
    const rootFile = join(dir, 'cli-root.pem');
    writeFileSync(rootFile, root);
    const cli = (args: string[]): Promise<{ status: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const argv = ['--conditions=source', '--import', 'tsx', CLI_PATH, 'cluster', 'az', ...args, '--url', `https://${host()}:${DEV_PORTS.https}`, '--ca', rootFile, '--token-file', tokenFile, '--from', CLIENT];
        execFile(process.execPath, argv, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
          resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
        });
      });
    const added = await cli(['add', 'az8', '--subnets', '10.8.0.0/16,10.18.0.0/16', '--vip', '10.8.0.1']);
    expect(added.status, added.stderr).to.equal(0);
    expect(added.stdout).to.include('AZ az8 declared');
    expect(await handle.node.app.store.getAz('az8')).to.deep.include({ phase: 'declared', subnets: ['10.8.0.0/16', '10.18.0.0/16'] });
    const removed = await cli(['remove', 'az8']);
    expect(removed.status, removed.stderr).to.equal(0);
    expect(removed.stdout).to.include('AZ az8 removed');
    const refused = await cli(['remove', 'az8']);
    expect([refused.status, refused.stderr.includes('ERR_AZ_UNKNOWN')]).to.deep.equal([1, true]);
    const noVip = await cli(['add', 'az8', '--subnets', '10.8.0.0/16']);
    expect([noVip.status, noVip.stderr.includes('--vip')]).to.deep.equal([2, true]);
    const self = await cli(['refound', 'az1']);
    expect([self.status, self.stderr.includes('ERR_AZ_SELF')]).to.deep.equal([1, true]);
    const noAction = await cli([]);
    expect([noAction.status, noAction.stderr.includes('add, remove')]).to.deep.equal([2, true]);
  });
});
