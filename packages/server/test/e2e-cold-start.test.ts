// docs/spec.md §3.7, docs/architecture.md §5.2: nodes started at the same moment against an empty
// cluster end up in one cluster. Three real `serve` processes of one AZ start together; only the
// `--init` one may found; the others keep discovering and join it. Addresses: 127.81.0.0/16 (dev
// plan, base 80).
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { DEV_PORTS, devNodes } from '../src/dev/layout.ts';
import { spawnServe, stopProcess, waitReady, type NodeProcess } from '../src/dev/processes.ts';
import { httpCall, jsonOf } from '../src/peer/http-request.ts';

const BASE = 80;

describe('e2e: a cold start of three serve processes at once', function () {
  this.timeout(90_000);
  let dir = '';
  const procs: NodeProcess[] = [];
  let failed = false;

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    await Promise.all(procs.map((p) => stopProcess(p, 10_000)));
    if (!failed && dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('ends in one cluster: every node reports the same clusterId and the map lists all three', async () => {
    dir = mkdtempSync(join(tmpdir(), 'adrestia-cold-'));
    await mkdir(join(dir, 'logs'), { recursive: true });
    const secrets = await writeSecrets(dir);
    for (const n of devNodes(1, 3, BASE)) {
      const configPath = await writeNodeConfig(dir, n, 1, BASE, secrets, 'warn');
      procs.push({ name: n.name, host: n.host, configPath, logPath: join(dir, 'logs', `${n.name}.log`), child: null, init: n.nodeIndex === 1 });
    }
    // Started in reverse order: the founder comes last, so the others discover an empty cluster first.
    for (const p of [...procs].reverse()) spawnServe(p, () => undefined);
    const ready = await Promise.all(procs.map((p) => waitReady(p.host, DEV_PORTS.http, 60_000, () => p.child !== null)));
    expect(ready, `ready (logs in ${dir}/logs)`).to.deep.equal([true, true, true]);
    const clusterIds = new Set<string>();
    for (const p of procs) {
      const r = await httpCall(`http://${p.host}:${DEV_PORTS.http}/api/v1/status`, { timeoutMs: 5_000, maxResponseBytes: 65536, localAddress: '127.81.0.200' });
      clusterIds.add((jsonOf(r) as { clusterId: string }).clusterId);
    }
    expect(clusterIds.size).to.equal(1);
    const map = await httpCall(`http://${procs[1]!.host}:${DEV_PORTS.http}/api/v1/clusterMap?since=0`, { timeoutMs: 5_000, maxResponseBytes: 1 << 20, localAddress: '127.81.0.200' });
    expect((jsonOf(map) as { nodes: unknown[] }).nodes).to.have.length(3);
  });
});
