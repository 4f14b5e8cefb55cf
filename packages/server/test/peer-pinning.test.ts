// Node identity pinning, in process: `serve` with a real PkiNode (LevelDB on disk, real sockets
// on 127.77.0.0/16). A node is registered through the real registration route (PSK proof); the
// test holds its keys, so with its node ICA (a CA chained to the cluster root) it mints leaves
// that name a node — itself, or an id nobody registered — without being the certificate the
// replicated state registered. The peer endpoint and the Raft port must accept only the
// registered certificate, and not even that one once the node is removed.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { toPem } from '@adrestia/pki-core';
import { generateNodeKeys, makeNodeCsrs } from '@adrestia/pki-core/node';
import { buildRegistrationRequest, verifyCaBundle, type CaBundleResponseBody, type RegistrationResponseBody } from '@adrestia/pki-core/registration';
import { loadConfig } from '../src/config/load.ts';
import { writeNodeConfig, writeSecrets } from '../src/dev/files.ts';
import { DEV_PORTS, devNodes } from '../src/dev/layout.ts';
import { createLogger } from '../src/log/logger.ts';
import { createMetrics } from '../src/metrics/metrics.ts';
import { decodePeerResponse, encodePeer, PEER_MEDIA_TYPE, PEER_PATH } from '../src/peer/codec.ts';
import { httpCall, jsonOf, type HttpCallResult } from '../src/peer/http-request.ts';
import { serve, type ServeHandle } from '../src/serve/runtime.ts';
import { makeNodeCert, makeRootCa, type TestCa } from './helpers/certs.ts';
import { pollFor, waitFor } from './helpers/wait.ts';

const BASE = 76; // dev layout: AZ az1 is 127.77.0.0/16, the node 127.77.0.11
const CLIENT = '127.77.0.200';
const EXTRA = '127.77.0.99';
/** How long an accepted Raft connection must stay open to count as accepted (the mesh closes a refused one at once). */
const RAFT_OPEN_MS = 1_000;

interface Presented {
  /** The leaf followed by its intermediates (not the root). */
  cert: string;
  key: string;
}

type ErrorBody = { error: { code: string } };

describe('node identity pinned to the registered TLS certificate (peer endpoint and Raft port)', function () {
  this.timeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), 'adrestia-pin-'));
  const extraId = randomUUID();
  let handle: ServeHandle;
  let root: string;
  let token: string;
  let psk: Uint8Array;
  /** The extra node's registered TLS certificate, and leaves its node ICA minted. */
  let registered: Presented;
  let forgedSameId: Presented;
  let forgedUnregistered: Presented;
  let foreign: Presented;

  const host = (): string => devNodes(1, 1, BASE)[0]!.host;
  const get = (path: string): Promise<HttpCallResult> =>
    httpCall(`http://${host()}:${DEV_PORTS.http}${path}`, { timeoutMs: 10_000, maxResponseBytes: 1 << 20, localAddress: CLIENT });
  const https = (method: 'POST' | 'DELETE', path: string, body: Buffer, headers: Record<string, string>, tls: Partial<Presented> = {}): Promise<HttpCallResult> =>
    httpCall(`https://${host()}:${DEV_PORTS.https}${path}`, {
      method, headers, body, timeoutMs: 20_000, maxResponseBytes: 1 << 20, ca: root, serverNode: true, localAddress: CLIENT, ...tls,
    });

  before(async () => {
    const secrets = await writeSecrets(dir);
    const node = devNodes(1, 1, BASE)[0]!;
    const config = await loadConfig(await writeNodeConfig(dir, node, 1, BASE, secrets, 'silent'));
    handle = await serve(config, createLogger({ level: 'silent' }), createMetrics(), { mayFoundCluster: true });
    root = readFileSync(join(config.dataDir, 'cluster-root.crt'), 'utf8');
    token = readFileSync(secrets.adminTokenFile, 'utf8').trim();
    psk = new Uint8Array(Buffer.from(readFileSync(secrets.pskFile, 'utf8').trim(), 'utf8'));
    await registerExtra();
    const other = makeRootCa(dir, 'unknown-root');
    const leaf = makeNodeCert(other, extraId);
    foreign = { cert: leaf.cert, key: leaf.key };
  });

  after(async () => {
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Registers `nodeId` as a joining node does (docs/spec.md §3.2): its registered TLS certificate, and its node ICA as a CA the test can sign with. */
  async function register(nodeId: string): Promise<{ tls: Presented; ica: TestCa }> {
    const nonce = randomBytes(32);
    const bundle = verifyCaBundle({ response: jsonOf(await get(`/api/v1/ca?nonce=${nonce.toString('base64url')}`)) as CaBundleResponseBody, psk, clientNonce: nonce });
    const keys = await generateNodeKeys({ dataDir: mkdtempSync(join(dir, 'keys-')) });
    const built = buildRegistrationRequest({
      clusterId: bundle.clusterId, nodeId, az: 'az1', addresses: { api: `${EXTRA}:8443`, raft: `${EXTRA}:7480` },
      ...makeNodeCsrs({ keys, nodeId, az: 'az1', hosts: [EXTRA] }),
      auth: { psk, serverNonce: bundle.serverNonce }, nowMs: Date.now(),
    });
    const answer = await https('POST', '/api/v1/registrations', Buffer.from(built.body), { 'content-type': 'application/json', authorization: built.authorization });
    expect(answer.status, answer.body.toString()).to.equal(201);
    const body = jsonOf(answer) as RegistrationResponseBody;
    const pem = (b64: string): string => toPem(new Uint8Array(Buffer.from(b64, 'base64')));
    const tlsPem = pem(body.tlsCert);
    const icaPem = pem(body.icaCert);
    const icaKeyPath = join(dir, `${nodeId}-ica.key`);
    const icaCertPath = join(dir, `${nodeId}-ica.pem`);
    writeFileSync(icaKeyPath, keys.ica.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    writeFileSync(icaCertPath, icaPem);
    return {
      tls: { cert: tlsPem + body.chainPem, key: keys.tls.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string },
      ica: { dir, keyPath: icaKeyPath, certPath: icaCertPath, certPem: icaPem, chainPem: icaPem + body.chainPem },
    };
  }

  /** Registers `extraId` and mints, with its node ICA, a leaf naming it and one naming an id nobody registered. */
  async function registerExtra(): Promise<void> {
    const extra = await register(extraId);
    registered = extra.tls;
    const same = makeNodeCert(extra.ica, extraId);
    const unregistered = makeNodeCert(extra.ica, randomUUID());
    forgedSameId = { cert: same.cert, key: same.key };
    forgedUnregistered = { cert: unregistered.cert, key: unregistered.key };
  }

  /** A `ping` to the peer endpoint presenting `tls`: 200 with a pong, or the refusal. */
  async function ping(tls: Presented): Promise<[number, string]> {
    let r: HttpCallResult;
    try {
      r = await https('POST', PEER_PATH, encodePeer({ kind: 'ping' }), { 'content-type': PEER_MEDIA_TYPE, accept: PEER_MEDIA_TYPE }, tls);
    } catch (err) {
      return [0, `transport: ${(err as Error).message}`];
    }
    if (r.status === 200) return [200, decodePeerResponse(r.body).kind];
    return [r.status, (jsonOf(r) as ErrorBody | undefined)?.error?.code ?? ''];
  }

  /** A TLS connection to the node's Raft port from CLIENT, presenting `tls` (the server's name is not what is tested). */
  function dialRaft(tls: Presented): TLSSocket {
    const tcp = netConnect({ host: host(), port: DEV_PORTS.raft, localAddress: CLIENT });
    const socket = connect({ socket: tcp, ca: root, ...tls, checkServerIdentity: () => undefined });
    socket.on('error', () => undefined);
    return socket;
  }

  /** Opens a connection to the Raft port presenting `tls`; resolves whether it was still open after RAFT_OPEN_MS. */
  function raftStaysOpen(tls: Presented): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = dialRaft(tls);
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(true);
      }, RAFT_OPEN_MS);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
  }

  /** Opens a Raft connection presenting `tls` and keeps it; `closed()` says whether the node has closed it since. */
  async function openRaft(tls: Presented): Promise<{ closed: () => boolean; destroy: () => void }> {
    let closed = false;
    const socket = dialRaft(tls);
    socket.once('close', () => {
      closed = true;
    });
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    return { closed: () => closed, destroy: () => socket.destroy() };
  }

  it('the registered certificate of a registered node is accepted on the peer endpoint and the Raft port', async () => {
    // Pins follow the state the directory polls (500 ms): the registration is applied before the answer.
    expect(await pollFor('registered node accepted', async () => { const r = await ping(registered); return r[0] === 200 ? r : null; }, 5_000)).to.deep.equal([200, 'pong']);
    expect(await raftStaysOpen(registered)).to.equal(true);
  });

  it('a leaf chained to the root naming the registered node id, but not its registered certificate, is refused on both', async () => {
    expect(await ping(forgedSameId)).to.deep.equal([403, 'ERR_FORBIDDEN']);
    expect(await raftStaysOpen(forgedSameId)).to.equal(false);
  });

  it('a leaf chained to the root naming a node id nobody registered is refused on both', async () => {
    expect(await ping(forgedUnregistered)).to.deep.equal([403, 'ERR_FORBIDDEN']);
    expect(await raftStaysOpen(forgedUnregistered)).to.equal(false);
  });

  it('a certificate from a CA the cluster root does not know is refused on both', async () => {
    const [status] = await ping(foreign);
    expect([0, 401, 403], `peer endpoint answered ${status}`).to.include(status);
    expect(await raftStaysOpen(foreign)).to.equal(false);
  });

  it('a removed node: its registered certificate is refused on the peer endpoint, on new Raft connections, and its open one is closed', async () => {
    const open = await openRaft(registered);
    await new Promise((r) => setTimeout(r, 200));
    expect(open.closed(), 'accepted before the removal').to.equal(false);
    const removed = await https('DELETE', `/api/v1/nodes/${extraId}`, Buffer.alloc(0), { 'content-type': 'application/json', authorization: `Bearer ${token}` });
    expect(removed.status, removed.body.toString()).to.equal(200);
    expect(await ping(registered)).to.deep.equal([403, 'ERR_FORBIDDEN']);
    await waitFor('open Raft connection of the removed node closed', () => open.closed(), 5_000);
    open.destroy();
    expect(await raftStaysOpen(registered)).to.equal(false);
  });
});
