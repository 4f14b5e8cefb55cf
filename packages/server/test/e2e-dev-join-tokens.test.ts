// `adrestia-pki dev --join-tokens` (docs/spec.md §3.9): the dev cluster's joiners are real `serve`
// processes that hold a join token each and no PSK; they register with it and become ready, and
// each token is then spent. Addresses: 127.87.0.0/16 (dev plan, base 86).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { readJoinTokenClaims } from '@adrestia/pki-core/registration';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';

const BASE = 86;

describe('e2e: dev --join-tokens starts its joiners with a join token and no PSK', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-dev-tokens-'));
  let cluster: DevCluster | null = null;

  after(async () => {
    await cluster?.stop();
    if (cluster?.ok === true) rmSync(dir, { recursive: true, force: true });
  });

  it('every joiner is ready, its configuration names a join token for its AZ and no PSK file', async () => {
    cluster = await startDevCluster({ azCount: 1, perAz: 3, dir, base: BASE, logLevel: 'warn', readyTimeoutMs: 40_000, joinTokens: true });
    expect(cluster.ok, `logs in ${dir}/logs`).to.equal(true);
    const [founder, ...joiners] = cluster.procs;
    const founderConfig = JSON.parse(readFileSync(founder!.configPath, 'utf8')) as Record<string, unknown>;
    expect(founderConfig['authPskFile'], 'the founder founds with the PSK').to.be.a('string');
    for (const p of joiners) {
      const config = JSON.parse(readFileSync(p.configPath, 'utf8')) as Record<string, unknown>;
      expect(config['authPskFile'], p.name).to.equal(undefined);
      const claims = readJoinTokenClaims(readFileSync(config['joinTokenFile'] as string, 'utf8').trim());
      expect(claims.az).to.equal(config['az']);
    }
  });
});
