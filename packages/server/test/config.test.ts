import { expect } from 'chai';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { envName } from '../src/config/env.ts';
import { ConfigError, loadConfig, validateConfig } from '../src/config/load.ts';
import { NODE_ID_FILE } from '../src/config/node-id.ts';
import type { Issue } from '../src/config/spec.ts';
import { isServerError } from '../src/errors.ts';
import { makeTempDir, removeDir } from './helpers/certs.ts';

const NODE_ID = '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b';

function base(dir: string): Record<string, unknown> {
  return {
    clusterVip: '10.0.0.1',
    az: 'az1',
    dataDir: join(dir, 'data'),
    advertiseAddress: '10.1.1.10',
    azs: [
      { name: 'az1', subnets: ['10.1.1.0/24'], localVip: '10.1.1.1' },
      { name: 'az2', subnets: ['10.2.1.0/24'], localVip: '10.2.1.1' },
    ],
  };
}

function issuesOf(fn: () => unknown): Issue[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

async function secretFile(dir: string, name: string, content: string, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content, { mode });
  await chmod(path, mode);
  return path;
}

describe('configuration: schema validation with field paths', function () {
  let dir: string;
  before(() => (dir = makeTempDir('adrestia-config-')));
  after(() => removeDir(dir));

  it('fills defaults for a minimal valid file', function () {
    const c = validateConfig(base(dir), {});
    expect(c.http).to.deep.equal({ host: '0.0.0.0', port: 80 });
    expect(c.raft).to.include({ port: 7480, tickMs: 100, heartbeatTicks: 1, electionTicks: 10, snapshotEveryEntries: 10_000 });
    expect(c.vip.mode).to.equal('none');
    expect(c.pkiInitRetry).to.equal(3);
    expect(c.log.level).to.equal('info');
  });

  it('names every bad field by its path, including inside lists', function () {
    const raw = base(dir);
    (raw['azs'] as Record<string, unknown>[])[1] = { name: 'az2', subnets: ['10.2.1.0/24', 'banana'], localVip: 'x' };
    raw['http'] = { port: 70000 };
    raw['nodeId'] = 'not-a-uuid';
    raw['colour'] = 'blue';
    const paths = issuesOf(() => validateConfig(raw, {})).map((i) => `${i.path}: ${i.message.split(' (')[0]}`);
    expect(paths).to.have.members([
      'azs[1].subnets[1]: not a CIDR',
      'azs[1].localVip: not an IP address',
      'http.port: not an integer in [0, 65535]',
      'nodeId: not a lower-case UUID',
      'colour: unknown field',
    ]);
  });

  it('reads subnets and addresses as the state machine does (pki-core net/ip.ts)', function () {
    const raw = base(dir);
    raw['azs'] = [
      // Host bits set in IPv6 too, a zero-padded prefix, a zone id: all refused.
      { name: 'az1', subnets: ['10.1.1.0/24', 'fd00::1/64', '10.1.2.0/024'], localVip: 'fe80::1%eth0' },
      // An IPv4-mapped block stays IPv6, so it overlaps no IPv4 subnet of another AZ.
      { name: 'az2', subnets: ['::ffff:10.1.1.0/120'], localVip: '::ffff:10.1.1.1' },
    ];
    const paths = issuesOf(() => validateConfig(raw, {})).map((i) => `${i.path}: ${i.message.split(' (')[0]}`);
    expect(paths).to.have.members(['azs[0].subnets[1]: not a CIDR', 'azs[0].subnets[2]: not a CIDR', 'azs[0].localVip: not an IP address']);
  });

  it('refuses overlapping subnets across AZs, duplicate names and an AZ not listed', function () {
    const raw = base(dir);
    raw['az'] = 'az9';
    raw['azs'] = [
      { name: 'az1', subnets: ['10.1.0.0/16'], localVip: '10.1.1.1' },
      { name: 'az1', subnets: ['10.1.7.0/24'], localVip: '10.9.1.1' },
    ];
    const issues = issuesOf(() => validateConfig(raw, {}));
    expect(issues.map((i) => i.path)).to.have.members(['azs[1].name', 'az', 'azs[1].subnets[0]']);
  });

  it('ACME directories: a provisioner policy each (its own field paths), names neither reserved nor repeated', function () {
    const policy = { dnsSuffixes: ['.corp.example'], profiles: ['serverLeaf'], maxLifetimeSeconds: 86_400 };
    const ok = validateConfig({ ...base(dir), acme: { directories: [{ name: 'corp', policy }] } }, {});
    expect(ok.acme.directories[0]).to.deep.include({ name: 'corp', orderLifetimeSeconds: 86_400, ordersPerHourMax: 300 });
    expect(ok.acme.directories[0]!.policy.dnsSuffixes).to.deep.equal(['.corp.example']);
    const raw = {
      ...base(dir),
      acme: {
        directories: [
          { name: 'corp', policy },
          { name: 'corp', policy: { ...policy, dnsSuffixes: ['Bad..name'] } },
          { name: 'acct', policy: { ...policy, profiles: [] } },
        ],
      },
    };
    expect(issuesOf(() => validateConfig(raw, {})).map((i) => i.path)).to.have.members(['acme.directories[1].policy.dnsSuffixes[0]', 'acme.directories[2].policy.profiles']);
    const crossField = { ...base(dir), acme: { directories: [{ name: 'corp', policy }, { name: 'corp', policy }, { name: 'acct', policy }] } };
    expect(issuesOf(() => validateConfig(crossField, {})).map((i) => `${i.path}: ${i.message}`)).to.have.members([
      'acme.directories[1].name: duplicate directory name (also acme.directories[0])',
      'acme.directories[2].name: acct is the path of an ACME resource',
    ]);
  });

  it('audit checkpoints (docs/architecture.md §18): defaults, and each bad field named', function () {
    expect(validateConfig(base(dir), {}).audit).to.deep.equal({ checkpointEverySeconds: 300, checkpointEveryCommands: 1000, retainEntriesMax: undefined });
    expect(validateConfig({ ...base(dir), audit: { retainEntriesMax: 5000 } }, {}).audit).to.deep.equal({ checkpointEverySeconds: 300, checkpointEveryCommands: 1000, retainEntriesMax: 5000 });
    const raw = { ...base(dir), audit: { checkpointEverySeconds: 0, checkpointEveryCommands: 'often', retainEntriesMax: -1 } };
    expect(issuesOf(() => validateConfig(raw, {})).map((i) => i.path)).to.have.members(['audit.checkpointEverySeconds', 'audit.checkpointEveryCommands', 'audit.retainEntriesMax']);
  });

  it('allowedDomains / allowedIpCidrs: defaults to the RFC 2606 test names, refuses bad rules by path', function () {
    const c = validateConfig(base(dir), {});
    expect(c.allowedDomains).to.deep.equal(['.test', '.example', 'localhost']);
    expect(c.allowedIpCidrs).to.equal(undefined);
    const set = validateConfig({ ...base(dir), allowedDomains: ['.corp.example', 'api.example.com'], allowedIpCidrs: ['10.0.0.0/8'] }, {});
    expect([set.allowedDomains, set.allowedIpCidrs]).to.deep.equal([['.corp.example', 'api.example.com'], ['10.0.0.0/8']]);
    const raw = { ...base(dir), allowedDomains: ['.ok.example', '*.wild.example'], allowedIpCidrs: ['10.0.0.1/8'] };
    expect(issuesOf(() => validateConfig(raw, {})).map((i) => i.path)).to.have.members(['allowedDomains[1]', 'allowedIpCidrs[0]']);
  });

  it('an ACME directory policy refuses a provisioner rateLimit (ACME limits orders with ordersPerHourMax)', function () {
    const policy = { dnsSuffixes: ['.corp.example'], profiles: ['serverLeaf'], maxLifetimeSeconds: 86_400, rateLimit: { perProvisioner: { burst: 1, perSecond: 1 } } };
    const issues = issuesOf(() => validateConfig({ ...base(dir), acme: { directories: [{ name: 'corp', policy }] } }, {}));
    expect(issues.map((i) => i.path)).to.deep.equal(['acme.directories[0].policy.rateLimit']);
  });

  it('checks Raft timing and exec VIP settings across fields', function () {
    const raw = { ...base(dir), raft: { heartbeatTicks: 5, electionTicks: 6 }, vip: { mode: 'exec' } };
    expect(issuesOf(() => validateConfig(raw, {})).map((i) => i.path)).to.have.members(['raft.electionTicks', 'vip.command']);
  });

  it('node aging: a day to inactive and a week to removal by default; removal after inactivity, within bounds', function () {
    const c = validateConfig(base(dir), {});
    expect([c.nodeInactiveAfterSeconds, c.nodeRemoveAfterSeconds]).to.deep.equal([86_400, 604_800]);
    const set = validateConfig({ ...base(dir), nodeInactiveAfterSeconds: 600 }, { ADRESTIA_NODE_REMOVE_AFTER_SECONDS: '3600' });
    expect([set.nodeInactiveAfterSeconds, set.nodeRemoveAfterSeconds]).to.deep.equal([600, 3600]);
    const order = issuesOf(() => validateConfig({ ...base(dir), nodeInactiveAfterSeconds: 7200, nodeRemoveAfterSeconds: 3600 }, {}));
    expect(order.map((i) => `${i.path}: ${i.message}`)).to.deep.equal(['nodeRemoveAfterSeconds: must be greater than nodeInactiveAfterSeconds']);
    // Shorter than the health checks' 60 s down-after silence would age out nodes that merely paused.
    expect(issuesOf(() => validateConfig({ ...base(dir), nodeInactiveAfterSeconds: 30 }, {})).map((i) => i.path)).to.deep.equal(['nodeInactiveAfterSeconds']);
  });

  it('applies ADRESTIA_<PATH> environment overrides and names the variable in issues', function () {
    expect(envName(['raft', 'tickMs'])).to.equal('ADRESTIA_RAFT_TICK_MS');
    const c = validateConfig(base(dir), { ADRESTIA_HTTP_PORT: '8080', ADRESTIA_RAFT_TICK_MS: '50', ADRESTIA_VIP_MODE: 'bind', ADRESTIA_PKI_INIT_RETRY: '7' });
    expect(c.http.port).to.equal(8080);
    expect(c.raft.tickMs).to.equal(50);
    expect(c.vip.mode).to.equal('bind');
    expect(c.pkiInitRetry).to.equal(7);
    const issues = issuesOf(() => validateConfig(base(dir), { ADRESTIA_HTTPS_PORT: 'eighty' }));
    expect(issues).to.have.length(1);
    expect(issues[0]?.path).to.equal('https.port');
    expect(issues[0]?.message).to.contain('ADRESTIA_HTTPS_PORT');
  });

  it('refuses secrets written in the configuration body', function () {
    const raw = { ...base(dir), authPsk: 'correct horse battery staple', kek: 'x' };
    const issues = issuesOf(() => validateConfig(raw, {}));
    expect(issues.map((i) => i.path)).to.have.members(['authPsk', 'kek']);
    expect(issues[0]?.message).to.contain('authPskFile');
    expect(JSON.stringify(issues)).not.to.contain('correct horse');
  });
});

describe('configuration: files, secrets and the persisted nodeId', function () {
  let dir: string;
  beforeEach(async () => {
    dir = makeTempDir('adrestia-config-');
    await mkdir(join(dir, 'data'));
  });
  afterEach(() => removeDir(dir));

  const KEK_HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

  it('reads YAML, TOML and JSON alike, secrets from 0600/0400 files, and persists a generated nodeId', async function () {
    const psk = await secretFile(dir, 'psk', 'a-very-long-pre-shared-key\n');
    const kek = await secretFile(dir, 'kek', KEK_HEX, 0o400);
    const yamlPath = join(dir, 'node.yaml');
    await writeFile(yamlPath, [
      'clusterVip: 10.0.0.1', 'az: az1', `dataDir: ${join(dir, 'data')}`, 'advertiseAddress: 10.1.1.10',
      'raft:', '  tickMs: 20', `authPskFile: ${psk}`, `kekFile: ${kek}`,
    ].join('\n'));
    const first = await loadConfig(yamlPath, {});
    expect(first.raft.tickMs).to.equal(20);
    expect(first.secrets.authPsk?.reveal().toString()).to.equal('a-very-long-pre-shared-key');
    expect(first.secrets.kek.reveal().toString('hex')).to.equal(KEK_HEX);
    expect((await readFile(join(dir, 'data', NODE_ID_FILE), 'utf8')).trim()).to.equal(first.nodeId);
    const tomlPath = join(dir, 'node.toml');
    await writeFile(tomlPath, [
      'clusterVip = "10.0.0.1"', 'az = "az1"', `dataDir = "${join(dir, 'data')}"`, 'advertiseAddress = "10.1.1.10"',
      `authPskFile = "${psk}"`, `kekFile = "${kek}"`, '[raft]', 'tickMs = 30',
    ].join('\n'));
    const second = await loadConfig(tomlPath, {});
    expect(second.nodeId).to.equal(first.nodeId);
    expect(second.raft.tickMs).to.equal(30);
    const jsonPath = join(dir, 'node.json');
    await writeFile(jsonPath, JSON.stringify({ ...base(dir), nodeId: NODE_ID, authPskFile: psk, kekFile: kek }));
    try {
      await loadConfig(jsonPath, {});
      expect.fail('a configured nodeId different from the persisted one must be refused');
    } catch (err) {
      expect(isServerError(err, 'ERR_CONFIG_INVALID')).to.equal(true);
    }
  });

  it('refuses group- or world-readable secret files', async function () {
    const psk = await secretFile(dir, 'psk', 'a-very-long-pre-shared-key', 0o644);
    const kek = await secretFile(dir, 'kek', KEK_HEX, 0o640);
    const path = join(dir, 'node.json');
    await writeFile(path, JSON.stringify({ ...base(dir), authPskFile: psk, kekFile: kek }));
    const err = await loadConfig(path, {}).then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(ConfigError);
    const issues = (err as ConfigError).issues;
    expect(issues.map((i) => i.path)).to.deep.equal(['authPskFile', 'kekFile']);
    expect(issues[0]?.message).to.match(/mode 0644; secret files must be 0600 or 0400/);
  });

  it('takes secrets from the environment, refuses both sources at once, and never prints them', async function () {
    const path = join(dir, 'node.json');
    await writeFile(path, JSON.stringify({ ...base(dir), nodeId: NODE_ID }));
    const env = { ADRESTIA_AUTH_PSK: 'env-pre-shared-key-0123', ADRESTIA_KEK: Buffer.from(KEK_HEX, 'hex').toString('base64') };
    const c = await loadConfig(path, env);
    expect(c.nodeId).to.equal(NODE_ID);
    expect(c.secrets.kek.byteLength).to.equal(32);
    const printed = JSON.stringify(c) + inspect(c, { depth: 10 }) + String(c.secrets.authPsk);
    expect(printed).not.to.contain('env-pre-shared-key');
    expect(printed).to.contain('[REDACTED]');
    const psk = await secretFile(dir, 'psk', 'a-very-long-pre-shared-key');
    await writeFile(path, JSON.stringify({ ...base(dir), nodeId: NODE_ID, authPskFile: psk }));
    const err = (await loadConfig(path, env).then(() => undefined, (e: unknown) => e)) as ConfigError;
    expect(err.issues.map((i) => `${i.path}: ${i.message}`)).to.deep.equal(['authPskFile: set either authPskFile or ADRESTIA_AUTH_PSK, not both']);
  });

  it('reads the join token from the file named by ADRESTIA_JOIN_TOKEN_FILE (docs/spec.md §3.9.4)', async function () {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2RlIn0.c2lnbmF0dXJl';
    const tokenFile = await secretFile(dir, 'join.jwt', `${token}\n`);
    const path = join(dir, 'node.json');
    await writeFile(path, JSON.stringify({ ...base(dir), nodeId: NODE_ID }));
    const env = { ADRESTIA_AUTH_PSK: 'env-pre-shared-key-0123', ADRESTIA_KEK: KEK_HEX, ADRESTIA_JOIN_TOKEN_FILE: tokenFile };
    const c = await loadConfig(path, env);
    expect(c.joinTokenFile).to.equal(tokenFile);
    expect(c.secrets.joinToken?.reveal().toString()).to.equal(token);
    expect(c.secrets.adminToken).to.equal(undefined);
  });

  it('reports missing required secrets and a malformed KEK', async function () {
    const path = join(dir, 'node.json');
    await writeFile(path, JSON.stringify({ ...base(dir), nodeId: NODE_ID }));
    const err = (await loadConfig(path, { ADRESTIA_KEK: 'short' }).then(() => undefined, (e: unknown) => e)) as ConfigError;
    expect(err.issues.map((i) => i.path).sort()).to.deep.equal(['ADRESTIA_KEK', 'authPskFile']);
    expect(err.issues.find((i) => i.path === 'authPskFile')?.message).to.contain('join token');
    expect(err.message).not.to.contain('short');
  });
});
