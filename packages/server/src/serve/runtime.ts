// `adrestia-pki serve`: one process = one node (docs/architecture.md §10). Start-up order:
//   1. configuration and secrets; Phase I discovery unless the node restarts from its dataDir;
//   2. PkiNode.start (found the cluster, found the AZ, register, or restart) with Raft transports
//      that attach to the mTLS mesh once this node holds a TLS certificate;
//   3. the mesh, the HTTP (public) and HTTPS listeners, the VIP listeners (`bind`), the peer
//      directory refresh; graceful stop on SIGTERM.
import type { ClusterBackup, OfflineRootFounding } from '@adrestia/pki-core';
import { randomBytes, randomUUID } from 'node:crypto';
import type { LevelStorage } from '@adrestia/consensus';
import { fromPem, type PkiNode } from '@adrestia/pki-core';
import { NonceReplayGuard, readJoinTokenClaims } from '@adrestia/pki-core/registration';
import { ServerError } from '../errors.ts';
import type { NodeConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { BootstrapClient } from '../peer/bootstrap-client.ts';
import { HttpsPeerClient, type NodeTlsMaterial } from '../peer/https-peer-client.ts';
import { PEER_BODY_BYTES_MAX } from '../peer/codec.ts';
import { httpCall } from '../peer/http-request.ts';
import { bootstrapNode } from './start-node.ts';
import type { LazyStateChannel } from './lazy-state-channel.ts';
import type { LazyTransport } from './lazy-transport.ts';
import { establishNodeTls, readNodeTls, renewedNodeTls, requireUnexpiredRoot } from './node-tls.ts';
import { NodeTlsFollower } from './node-tls-follower.ts';
import { nodeListFromJson, PeerDirectory } from './peer-directory.ts';
import { Listeners } from './listeners.ts';
import { attachMesh } from './mesh-setup.ts';
import { countLeaderChanges, OperatorMetricsSampler, sampleNodeMetrics } from './node-metrics.ts';
import type { MtlsMesh } from '../transport/mesh.ts';
import type { ApiDeps } from '../api/deps.ts';
import { startDashboard } from '../dashboard/dashboard.ts';

export interface ServeHandle {
  readonly nodeId: string;
  readonly node: PkiNode;
  stop(): Promise<void>;
}

const PEER_TIMEOUT_MS = 15_000;
const DIRECTORY_REFRESH_MS = 500;

export interface ServeOptions {
  /** `serve --init`: this node may found the cluster (exactly one node of a new cluster). */
  mayFoundCluster: boolean;
  /** `cluster restore FILE`: found the cluster, or this node's AZ, from this backup. */
  restore?: ClusterBackup;
  /** Found the cluster `clusterId` on a root held offline (pki-core founding.ts OfflineRootFounding); an embedder's option. */
  offlineRoot?: OfflineRootFounding & { clusterId: string };
}

export async function serve(config: NodeConfig, logger: Logger, metrics: Metrics, options: ServeOptions): Promise<ServeHandle> {
  const host = advertisedHost(config);
  const ports = { http: config.http.port, https: config.https.port };
  const azConfig = config.azs?.find((a) => a.name === config.az);
  const tlsRef: { current: NodeTlsMaterial | null } = { current: await readNodeTls(config.dataDir) };
  if (tlsRef.current !== null) requireUnexpiredRoot(tlsRef.current, Date.now());
  const joinToken = config.secrets.joinToken?.reveal().toString('utf8');
  // A join token is bound to one AZ: a node of another AZ would only be refused at registration.
  const tokenAz = joinToken === undefined ? undefined : readJoinTokenClaims(joinToken).az;
  if (tokenAz !== undefined && tokenAz !== config.az) {
    throw new ServerError('ERR_CONFIG_INVALID', `joinTokenFile: the join token is for AZ ${tokenAz}; this node is in AZ ${config.az}`);
  }
  const bootstrap = new BootstrapClient({
    ...(config.secrets.authPsk === undefined ? {} : { psk: config.secrets.authPsk.reveal() }),
    ...(joinToken === undefined ? {} : { joinToken }),
    localAddress: host,
    clusterVip: config.clusterVip,
    localVip: azConfig?.localVip ?? config.clusterVip,
    ports,
    timeoutMs: config.timeouts.initRequestMs * 5,
    nowMs: Date.now,
  });
  const directory = new PeerDirectory(config.nodeId);
  const peers = new HttpsPeerClient({ apiAddressOf: (id) => directory.apiAddressOf(id), tls: () => tlsRef.current, bootstrap, pins: directory.pins, localAddress: host, timeoutMs: PEER_TIMEOUT_MS });
  const listeners = new Listeners(config, logger, metrics);
  const { node, storage, localTransport, seatTransport, stateChannel } = await bootstrapNode({
    config,
    host,
    peers,
    vipHook: listeners.vipHook(),
    hasState: tlsRef.current !== null,
    mayFoundCluster: options.mayFoundCluster,
    clusterId: options.offlineRoot?.clusterId ?? randomUUID(),
    ...(options.restore === undefined ? {} : { restore: options.restore }),
    ...(options.offlineRoot === undefined ? {} : { offlineRoot: options.offlineRoot }),
    logger,
  });
  try {
    return await finishStart({ config, node, host, tlsRef, bootstrap, directory, peers, localTransport, seatTransport, stateChannel, listeners, storage, logger, metrics });
  } catch (err) {
    await node.stop();
    await listeners.closeVips();
    await storage.close();
    throw err;
  }
}

interface Started {
  config: NodeConfig;
  node: PkiNode;
  host: string;
  tlsRef: { current: NodeTlsMaterial | null };
  bootstrap: BootstrapClient;
  directory: PeerDirectory;
  peers: HttpsPeerClient;
  localTransport: LazyTransport;
  seatTransport: LazyTransport;
  stateChannel: LazyStateChannel;
  listeners: Listeners;
  storage: LevelStorage;
  logger: Logger;
  metrics: Metrics;
}

/** Step 3: TLS identity, mesh, listeners. */
async function finishStart(s: Started): Promise<ServeHandle> {
  const { config, node, host, bootstrap, directory, peers, localTransport, seatTransport, stateChannel, listeners, storage, logger, metrics } = s;
  const ports = { http: config.http.port, https: config.https.port };
  const azConfig = config.azs?.find((a) => a.name === config.az);
  const established = s.tlsRef.current ?? (await establishNodeTls(node, config.dataDir, bootstrap.registered));
  // A restarted node whose renewal was promoted but not yet written here (node-tls.ts).
  const tls = (await renewedNodeTls(node, config.dataDir, established)) ?? established;
  s.tlsRef.current = tls;
  const vip = azConfig?.localVip ?? config.clusterVip;
  const needsSeed = (): boolean => {
    const leader = node.status().local.leaderId;
    const peersKnown = directory.nodesOf(config.az).some((id) => id !== node.nodeId);
    return !node.status().pkiLocalLeader && (!peersKnown || (leader !== null && leader !== node.nodeId && directory.apiAddressOf(leader) === undefined));
  };
  // The first node of a new AZ learns the global log only through its seat, which must first
  // reach the other AZs' nodes: it starts from the node list the cluster VIP serves.
  const needsClusterSeed = (): boolean => node.status().clusterId === null && !directory.knowsNodeOutside(config.az);
  if (needsSeed()) await seedDirectory(directory, vip, config.http.port, host, logger);
  if (needsClusterSeed()) await seedDirectory(directory, config.clusterVip, config.http.port, host, logger);
  await directory.refresh(node);
  const mesh: MtlsMesh = await attachMesh({ config, node, tls, directory, localTransport, seatTransport, stateChannel, logger, metrics });
  const unsubscribe = countLeaderChanges(node, metrics);
  const operatorMetrics = new OperatorMetricsSampler(node, metrics, Date.now);
  let tlsFollower: NodeTlsFollower | null = null;
  const timer = setInterval(() => {
    sampleNodeMetrics(node, metrics);
    void operatorMetrics.maybeSample().catch((err: unknown) => logger.warn({ err }, 'operator metrics sample failed'));
    // A joiner answers its local leader only once it knows where the leader is.
    if (needsSeed()) void seedDirectory(directory, vip, config.http.port, host, logger);
    if (needsClusterSeed()) void seedDirectory(directory, config.clusterVip, config.http.port, host, logger);
    void directory.refresh(node).catch((err: unknown) => logger.warn({ err }, 'peer directory refresh failed'));
    void tlsFollower?.maybeFollow().catch((err: unknown) => logger.error({ err }, 'renewed node TLS certificate not taken up'));
  }, DIRECTORY_REFRESH_MS);
  const stopMesh = async (): Promise<void> => {
    clearInterval(timer);
    unsubscribe();
    peers.close();
    await mesh.close();
  };
  const deps: ApiDeps = {
    node,
    peers,
    globalVip: config.clusterVip,
    ports,
    psk: config.secrets.authPsk?.reveal(),
    adminToken: config.secrets.adminToken?.reveal(),
    joinTokenKey: config.secrets.joinTokenKey?.reveal(),
    replayGuard: new NonceReplayGuard({ maxClockSkewSeconds: 300, maxEntries: 100_000 }),
    nowMs: Date.now,
    randomBytes: (n: number) => new Uint8Array(randomBytes(n)),
    logger,
    metrics,
    peerPins: directory.pins,
    maxPeerBodyBytes: PEER_BODY_BYTES_MAX,
  };
  const dashboard = startDashboard({ node, metrics, host, httpPort: ports.http, adminToken: deps.adminToken, logger });
  try {
    await listeners.start(deps, tls, dashboard.deps);
    tlsFollower = new NodeTlsFollower(node, config.dataDir, s.tlsRef, [mesh, listeners], logger, () => registeredTlsOf(vip, config.http.port, host, node.nodeId, logger));
  } catch (err) {
    dashboard.stop();
    await listeners.closeMain(0);
    await stopMesh();
    throw err;
  }
  logger.info({ nodeId: node.nodeId, az: node.az, api: `${host}:${ports.https}`, http: `${host}:${ports.http}` }, 'node serving');
  return {
    nodeId: node.nodeId,
    node,
    stop: async () => {
      // The node's state closes below: no renewal is taken up from here on.
      tlsFollower = null;
      // Open dashboard streams never finish by themselves: end them before the listeners drain.
      dashboard.stop();
      await listeners.closeMain(config.timeouts.shutdownMs);
      await node.stop();
      await listeners.closeVips();
      await stopMesh();
      await storage.close();
    },
  };
}

/** Best effort: the node list from a VIP (a restarted node may be alone; a new AZ knows no other). */
async function seedDirectory(directory: PeerDirectory, vip: string, port: number, host: string, logger: Logger): Promise<boolean> {
  try {
    const result = await httpCall(`http://${vip}:${port}/api/v1/nodes`, { timeoutMs: 2_000, maxResponseBytes: 4 * 1024 * 1024, localAddress: host });
    if (result.status !== 200) throw new Error(`HTTP ${result.status}`);
    directory.seed(nodeListFromJson(JSON.parse(result.body.toString('utf8'))));
    return true;
  } catch (err) {
    logger.warn({ err: (err as Error).message, vip }, 'no node list from the VIP yet');
    return false;
  }
}

/** This node's TLS certificate as the local VIP's holder registers it (node-tls-follower.ts); null when none answers. */
async function registeredTlsOf(vip: string, port: number, host: string, nodeId: string, logger: Logger): Promise<Uint8Array | null> {
  try {
    const result = await httpCall(`http://${vip}:${port}/api/v1/nodes/${encodeURIComponent(nodeId)}`, { timeoutMs: 2_000, maxResponseBytes: 64 * 1024, localAddress: host });
    if (result.status !== 200) throw new Error(`HTTP ${result.status}`);
    const pem = (JSON.parse(result.body.toString('utf8')) as { tlsCertificatePem?: unknown }).tlsCertificatePem;
    if (typeof pem !== 'string') throw new Error('the answer names no tlsCertificatePem');
    return fromPem(pem, 'CERTIFICATE');
  } catch (err) {
    logger.warn({ err: (err as Error).message, vip }, 'no registered TLS certificate from the local VIP yet');
    return null;
  }
}

function advertisedHost(config: NodeConfig): string {
  const host = config.advertiseAddress ?? config.https.host;
  if (host === '0.0.0.0' || host === '::') throw new TypeError('advertiseAddress is required with a wildcard https.host');
  return host;
}
