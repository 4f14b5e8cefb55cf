// End-to-end: never two holders of a VIP among real processes with the `exec` hook. A 3-node AZ of
// real `serve` processes runs its VIP hook as an external notify command (helpers/vip-recorder.mjs)
// that records every acquire and release on CLOCK_MONOTONIC; a forwarder on the VIPs routes
// clients to the recorded holder, as the kernel would route to the node that added the address.
// Through restarts of a follower and of the leader and kill -9 of the holders, under issuance,
// the holdings of different nodes never overlap. Addresses (dev layout, base 100): AZ az1 on
// 127.101.0.0/16, local VIP 127.101.0.1, global VIP 127.100.10.1.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { startDevCluster, type DevCluster } from '../src/dev/cluster.ts';
import { DEV_PORTS, devAzs, globalVipOf } from '../src/dev/layout.ts';
import { stopProcess, type NodeProcess } from '../src/dev/processes.ts';
import { jsonOf } from '../src/peer/http-request.ts';
import { e2eClient, type E2eClient } from './helpers/e2e-http.ts';
import { leafCsrPem } from './helpers/e2e-openssl.ts';
import { currentHolders, execVipTimeline, parseExecVipLog, type ExecVipEvent } from './helpers/exec-vip-log.ts';
import { forwardVips, type VipForwarder } from './helpers/vip-forwarder.ts';
import { refuseBusyAddresses } from './helpers/busy-addresses.ts';
import { pollFor, sleep } from './helpers/wait.ts';

const BASE = 100;
const AZ = devAzs(1, BASE)[0] as { name: string; localVip: string };
const GLOBAL_VIP = globalVipOf(BASE);
const CLIENT = '127.101.0.200';
const RECORDER = fileURLToPath(new URL('./helpers/vip-recorder.mjs', import.meta.url));
/** Generous bounds for a loaded 2-core machine; nothing asserts on speed. */
const STEP_TIMEOUT_MS = 40_000;

interface NodeStatus {
  ready: boolean;
  pkiLocalLeader: boolean;
  pkiGlobalLeader: boolean;
  local: { leaderId: string | null };
}

describe('e2e: exec VIP hook, 1 AZ × 3 real serve processes — restarts and kill -9 of the holders never give a VIP two holders', function () {
  this.timeout(180_000);
  let cluster: DevCluster;
  let dir: string;
  let logFile: string;
  let forwarder: VipForwarder | null = null;
  let client: E2eClient;
  const kills: ExecVipEvent[] = [];
  const load = { stopped: false, issued: 0, loop: Promise.resolve() };
  let failed = false;

  /** The recorded hook calls and the test's kills, in time order (one clock). */
  const events = (): ExecVipEvent[] => [...parseExecVipLog(readFileSync(logFile, 'utf8')), ...kills].sort((a, b) => (a.atNs < b.atNs ? -1 : a.atNs > b.atNs ? 1 : 0));
  const procNamed = (name: string): NodeProcess => cluster.procs.find((p) => p.name === name) as NodeProcess;
  const statusOf = async (p: NodeProcess): Promise<NodeStatus | null> => {
    const r = await client.get(p.host, '/api/v1/status').catch(() => null);
    return r?.status === 200 ? (jsonOf(r) as NodeStatus) : null;
  };

  before(async function () {
    this.timeout(150_000);
    await refuseBusyAddresses(BASE, 1, 3);
    dir = mkdtempSync(join(tmpdir(), 'adrestia-e2e-vip-exec-'));
    logFile = join(dir, 'vip-hook.log');
    writeFileSync(logFile, '');
    // The VIPs route from the recorded holdings (a kill ends them), so joiners find their AZ.
    forwarder = await forwardVips([GLOBAL_VIP, AZ.localVip], [DEV_PORTS.http, DEV_PORTS.https], (vip) => currentHolders(events()).get(vip)?.host ?? null);
    cluster = await startDevCluster({
      azCount: 1,
      perAz: 3,
      dir,
      base: BASE,
      logLevel: 'info',
      readyTimeoutMs: 60_000,
      vip: (n) => ({ mode: 'exec', command: [process.execPath, RECORDER, logFile, n.name, n.host], timeoutMs: 5_000 }),
    });
    expect(cluster.ok, `nodes ready (logs in ${dir}/logs)`).to.equal(true);
    const rootPem = readFileSync(join(dir, 'data', 'az1-node1', 'cluster-root.crt'), 'utf8');
    client = e2eClient({ from: CLIENT, rootPem, adminToken: readFileSync(cluster.secrets.adminTokenFile, 'utf8').trim(), timeoutMs: 10_000 });
    await everyNodeFollowing();
    load.loop = issueLoop();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    load.stopped = true;
    await load.loop;
    await cluster?.stop();
    await forwarder?.close();
    if (!failed && cluster?.ok === true) rmSync(dir, { recursive: true, force: true });
  });

  /** Issuance without pause at the local VIP (the recorded holder answers); failures during a failover are expected. */
  async function issueLoop(): Promise<void> {
    for (let i = 0; !load.stopped; i++) {
      const r = await client.postFollowing(AZ.localVip, '/api/v1/certificates', { csr: leafCsrPem(`vip-exec-${i}.example`), profile: 'serverLeaf' }).catch(() => null);
      if (r !== null && (r.status === 201 || r.status === 200)) load.issued++;
      else await sleep(100);
    }
  }

  /** Every live node is ready and follows one leader, which holds both VIPs by the recorder's log. */
  async function everyNodeFollowing(): Promise<NodeProcess> {
    let seen = '';
    const found = pollFor('one leader followed by every node, holding both VIPs', async () => {
      const all = await Promise.all(cluster.procs.map(statusOf));
      seen = `${cluster.procs.map((p, i) => `${p.name} ${all[i] === null ? 'no status' : JSON.stringify(all[i])}`).join('; ')}; holders ${JSON.stringify([...currentHolders(events())].map(([v, e]) => `${v} ${e.nodeId}`))}`;
      const leaders = cluster.procs.filter((_, i) => all[i]?.pkiLocalLeader === true);
      if (leaders.length !== 1 || all.some((s) => s?.ready !== true)) return null;
      const leader = leaders[0] as NodeProcess;
      const held = currentHolders(events());
      return held.get(AZ.localVip)?.nodeId === leader.name && held.get(GLOBAL_VIP)?.nodeId === leader.name ? leader : null;
    }, STEP_TIMEOUT_MS, 100);
    return found.catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; last seen: ${seen}`, { cause: err });
    });
  }

  const holderOf = (vip: string): string | null => currentHolders(events()).get(vip)?.nodeId ?? null;

  async function restart(p: NodeProcess): Promise<void> {
    await stopProcess(p, 10_000);
    cluster.restart(p);
  }

  async function kill9(p: NodeProcess): Promise<void> {
    const child = p.child;
    if (child === null) throw new Error(`${p.name} is not running`);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    // After the exit is seen: the holding ends no earlier than the real death.
    kills.push({ atNs: process.hrtime.bigint(), nodeId: p.name, host: p.host, vip: null, kind: 'kill' });
  }

  it('a follower restarts (SIGTERM, start again): the leader keeps both VIPs', async () => {
    const leader = await everyNodeFollowing();
    const follower = cluster.procs.find((p) => p !== leader) as NodeProcess;
    await restart(follower);
    expect((await everyNodeFollowing()).name).to.be.oneOf(cluster.procs.map((p) => p.name));
  });

  it('the leader restarts (SIGTERM, start again): both VIPs move to the next leader, or stay with it', async () => {
    const leader = await everyNodeFollowing();
    await restart(leader);
    await everyNodeFollowing();
    expect(load.issued).to.be.greaterThan(0);
  });

  it('kill -9 of the leader holding both VIPs: they move to a new leader; the killed node rejoins', async () => {
    const leader = await everyNodeFollowing();
    await kill9(leader);
    const next = await pollFor('the VIPs held by another node', async () => {
      const h = holderOf(AZ.localVip);
      return h !== null && h !== leader.name && holderOf(GLOBAL_VIP) === h ? h : null;
    }, STEP_TIMEOUT_MS, 100);
    expect(next).to.not.equal(leader.name);
    cluster.restart(leader);
    await everyNodeFollowing();
  });

  it('kill -9 of the global VIP holder, then at once a restart of the node that takes over: the VIPs settle on one leader', async () => {
    await everyNodeFollowing();
    const holder = procNamed(holderOf(GLOBAL_VIP) as string);
    await kill9(holder);
    const killedAtNs = kills.at(-1)!.atNs;
    cluster.restart(holder);
    // Whoever takes the VIP after the kill: another node, or the killed one itself when it is back
    // first and wins the election (its log is as long as anyone's).
    const next = await pollFor('the global VIP taken after the kill', async () => {
      const held = currentHolders(events()).get(GLOBAL_VIP);
      return held !== undefined && held.atNs > killedAtNs ? held.nodeId : null;
    }, STEP_TIMEOUT_MS, 50);
    await restart(procNamed(next));
    await everyNodeFollowing();
  });

  it('no VIP ever had two holders: the recorded acquire/release/kill intervals of different nodes never overlap', async () => {
    load.stopped = true;
    await load.loop;
    const timeline = execVipTimeline(events());
    for (const [vip, gapNs] of timeline.minHandOverGapNs) console.log(`      ${vip}: shortest hand-over (end of one holding → next node's acquire): ${(Number(gapNs) / 1e6).toFixed(1)} ms`);
    console.log(`      ${timeline.holdings.length} holdings, ${load.issued} certificates issued`);
    expect(timeline.overlaps, `overlapping holdings (log ${logFile})`).to.deep.equal([]);
    for (const vip of [AZ.localVip, GLOBAL_VIP]) expect(new Set(timeline.holdings.filter((h) => h.vip === vip).map((h) => h.nodeId)).size, `${vip} moved`).to.be.greaterThan(1);
  });
});
