import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { isServerError, type ServerErrorCode } from '../src/errors.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { BindVipHook } from '../src/vip/bind-hook.ts';
import { ExecVipHook } from '../src/vip/exec-hook.ts';
import { createVipHook } from '../src/vip/factory.ts';
import { NoneVipHook } from '../src/vip/hook.ts';
import { instrumentVipHook } from '../src/vip/instrumented.ts';
import { makeTempDir, removeDir } from './helpers/certs.ts';

async function rejectsWith(p: Promise<unknown>, code: ServerErrorCode): Promise<Error> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isServerError(err, code), `expected ${code}, got ${String(err)}`).to.equal(true);
  return err as Error;
}

/** 'connected', or the error code the connection attempt failed with. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

describe('VIP hooks: exec (keepalived notify style)', function () {
  let dir: string;
  let script: string;
  let argsFile: string;
  before(async () => {
    dir = makeTempDir('adrestia-vip-');
    argsFile = join(dir, 'args.txt');
    script = join(dir, 'notify.sh');
    // Appends one line per call: each argument on its own, bracketed, so splitting is visible.
    await writeFile(script, `#!/bin/sh\nfor a in "$@"; do printf '[%s]' "$a"; done >> "$ARGS_FILE"\necho >> "$ARGS_FILE"\n[ "$4" = fail ] && { echo boom >&2; exit 3; }\n[ "$4" = slow ] && sleep 5\nexit 0\n`);
    await chmod(script, 0o700);
  });
  after(() => removeDir(dir));

  it('runs <command…> <vip> <iface> MASTER|BACKUP as separate argv entries', async function () {
    const hook = new ExecVipHook({ command: [script, 'pki'], defaultInterface: 'eth0', timeoutMs: 5000, env: { PATH: '/usr/bin:/bin', ARGS_FILE: argsFile } });
    await hook.acquire({ address: '10.1.1.1' });
    await hook.release({ address: '10.1.1.1', interface: 'lo' });
    expect(await readFile(argsFile, 'utf8')).to.equal('[pki][10.1.1.1][eth0][MASTER]\n[pki][10.1.1.1][lo][BACKUP]\n');
  });

  it('refuses VIPs and interfaces that are not plain tokens, without running anything', async function () {
    const hook = new ExecVipHook({ command: [script], timeoutMs: 5000, env: { ARGS_FILE: argsFile } });
    const before = await readFile(argsFile, 'utf8').catch(() => '');
    await rejectsWith(hook.acquire({ address: '10.0.0.1; rm -rf /' }), 'ERR_VIP_INVALID');
    await rejectsWith(hook.acquire({ address: '10.0.0.1', interface: '-eth0' }), 'ERR_VIP_INVALID');
    await rejectsWith(hook.acquire({ address: '10.0.0.1', interface: '$(reboot)' }), 'ERR_VIP_INVALID');
    expect(await readFile(argsFile, 'utf8').catch(() => '')).to.equal(before);
  });

  it('turns a non-zero exit, a timeout and a missing command into typed errors', async function () {
    const failing = new ExecVipHook({ command: [script, 'x', 'y'], timeoutMs: 5000, env: { ARGS_FILE: argsFile } });
    // With two fixed args, "$4" is the VIP's interface position: 'fail' / 'slow' steer the script.
    const err = await rejectsWith(failing.acquire({ address: '10.0.0.1', interface: 'fail' }), 'ERR_VIP_HOOK_FAILED');
    expect(err.message).to.contain('exit code 3').and.contain('boom');
    const slow = new ExecVipHook({ command: [script, 'x', 'y'], timeoutMs: 200, env: { ARGS_FILE: argsFile } });
    await rejectsWith(slow.acquire({ address: '10.0.0.1', interface: 'slow' }), 'ERR_VIP_HOOK_TIMEOUT');
    const missing = new ExecVipHook({ command: [join(dir, 'does-not-exist')], timeoutMs: 1000 });
    await rejectsWith(missing.acquire({ address: '10.0.0.1' }), 'ERR_VIP_HOOK_SPAWN');
  });
});

describe('VIP hooks: bind (listen on the VIP address)', function () {
  const servers = new Set<Server>();
  let port = 0;

  const factory = async (address: string) => {
    const server = createServer((_req, res) => res.end('ok'));
    servers.add(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    return {
      close: () =>
        new Promise<void>((resolve) => {
          servers.delete(server);
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  };

  before(async () => {
    // A free port, then reused on the 127.x.y.z VIPs.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  after(() => {
    for (const s of servers) s.close();
  });

  it('acquire makes the VIP answer; release refuses connections again', async function () {
    const hook = new BindVipHook(factory);
    const vip = { address: '127.1.0.1' };
    expect(await tryConnect(vip.address, port)).to.equal('ECONNREFUSED');
    await hook.acquire(vip);
    await hook.acquire(vip); // idempotent
    expect(await tryConnect(vip.address, port)).to.equal('connected');
    expect(await tryConnect('127.2.0.1', port)).to.equal('ECONNREFUSED');
    expect(hook.held()).to.deep.equal(['127.1.0.1']);
    await hook.release(vip);
    await hook.release(vip); // idempotent
    expect(await tryConnect(vip.address, port)).to.equal('ECONNREFUSED');
    expect(hook.held()).to.deep.equal([]);
  });

  it('counts transitions and reports failures without crashing (instrumented, none mode)', async function () {
    const metrics = createMetrics();
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const logger = createLogger({ level: 'silent', destination: sink });
    const hook = instrumentVipHook(new BindVipHook(factory), metrics, logger);
    await hook.acquire({ address: '127.3.0.1' });
    await hook.release({ address: '127.3.0.1' });
    await rejectsWith(hook.acquire({ address: 'not-an-ip' }), 'ERR_VIP_INVALID');
    const text = await metrics.registry.metrics();
    expect(text).to.contain('adrestia_vip_transitions_total{vip="127.3.0.1",action="acquire",result="ok"} 1');
    expect(text).to.contain('adrestia_vip_transitions_total{vip="127.3.0.1",action="release",result="ok"} 1');
    expect(text).to.contain('adrestia_vip_transitions_total{vip="not-an-ip",action="acquire",result="error"} 1');
    const fromConfig = createVipHook({ mode: 'bind', timeoutMs: 1000 }, { logger, metrics, listenerFactory: factory });
    await fromConfig.acquire({ address: '127.4.0.1' });
    expect(await tryConnect('127.4.0.1', port)).to.equal('connected');
    await fromConfig.release({ address: '127.4.0.1' });
    expect(createVipHook({ mode: 'none', timeoutMs: 1000 }, { logger, metrics }).mode).to.equal('none');
    expect(() => createVipHook({ mode: 'exec', timeoutMs: 1000 }, { logger, metrics })).to.throw(TypeError);
    const none = new NoneVipHook();
    await none.acquire({ address: '10.9.9.9' });
    await rejectsWith(none.release({ address: 'x' }), 'ERR_VIP_INVALID');
  });
});
