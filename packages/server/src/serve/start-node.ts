// Step 2 of `serve`: PkiNode.bootstrap (pki-core node/founding/discovery.ts; docs/spec.md §3,
// docs/architecture.md §5) with Phase I probes over plain HTTP from this node's own address. Only a
// node started with `--init` may found the cluster; every other one keeps discovering until the
// cluster answers, so nodes started at the same moment end up in one cluster. A restarted node (it
// holds a TLS certificate in dataDir) skips discovery.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LevelStorage, systemRandom } from '@adrestia/consensus';
import { DEFAULT_CLUSTER_SETTINGS, PkiNode, type AllowedNames, type ClusterBackup, type OfflineRootFounding, type PkiNodeOptions, type ProbeAnswer } from '@adrestia/pki-core';
import { NODE_ICA_KEY_FILE, NODE_TLS_KEY_FILE } from '@adrestia/pki-core/node';
import type { NodeConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import { httpCall, jsonOf } from '../peer/http-request.ts';
import type { PeerClient } from '@adrestia/pki-core';
import { LazyStateChannel } from './lazy-state-channel.ts';
import { LazyTransport } from './lazy-transport.ts';
import { acmeOptionsOf } from '../acme/acme-node-options.ts';
import type { VipHook } from '../vip/hook.ts';

export interface StartInput {
  config: NodeConfig;
  host: string;
  peers: PeerClient;
  vipHook: VipHook;
  hasState: boolean;
  mayFoundCluster: boolean;
  clusterId: string;
  restore?: ClusterBackup;
  offlineRoot?: OfflineRootFounding;
  logger: Logger;
}

export interface StartedNode {
  node: PkiNode;
  storage: LevelStorage;
  localTransport: LazyTransport;
  seatTransport: LazyTransport;
  stateChannel: LazyStateChannel;
}

/** The node's Raft storage (LevelDB) inside its data directory. */
const RAFT_DIR = 'raft';
/** The PKI state (LevelDB) as of the Raft log in RAFT_DIR: created and removed with it. */
const STATE_DIR = 'state';

export async function bootstrapNode(s: StartInput): Promise<StartedNode> {
  const { config } = s;
  const azSpec = config.azs?.find((a) => a.name === config.az);
  let current: StartedNode | null = null;
  const makeOptions = async (): Promise<PkiNodeOptions> => {
    // A lost race leaves nothing behind: fresh storage, transports and node keys. The Raft log
    // of a lost attempt goes too: a refused AZ founding leaves a local group of this node alone,
    // which must not come back as the group of a node that now joins the AZ's real one.
    if (current !== null) await current.storage.close();
    if (!s.hasState) {
      await Promise.all([NODE_ICA_KEY_FILE, NODE_TLS_KEY_FILE].map((f) => rm(join(config.dataDir, f), { force: true })));
      await rm(join(config.dataDir, RAFT_DIR), { recursive: true, force: true });
      await rm(join(config.dataDir, STATE_DIR), { recursive: true, force: true });
    }
    const storage = await LevelStorage.open(join(config.dataDir, RAFT_DIR));
    current = { node: null as unknown as PkiNode, storage, localTransport: new LazyTransport(), seatTransport: new LazyTransport(), stateChannel: new LazyStateChannel(config.raft.maxFrameBytes) };
    return {
      nodeId: config.nodeId,
      az: config.az,
      addresses: { api: `${s.host}:${config.https.port}`, raft: `${s.host}:${config.raft.port}` },
      dataDir: config.dataDir,
      kek: config.secrets.kek.reveal(),
      ...(config.secrets.nextKek === undefined ? {} : { nextKek: config.secrets.nextKek.reveal() }),
      storage,
      stateDir: join(config.dataDir, STATE_DIR),
      stateChannel: current.stateChannel,
      onStateTransfer: (message) => s.logger.info(message),
      localTransport: current.localTransport,
      seatTransport: current.seatTransport,
      peers: s.peers,
      nowMs: Date.now,
      random: systemRandom,
      tickMs: config.raft.tickMs,
      snapshotEveryEntries: config.raft.snapshotEveryEntries,
      localRaft: { electionTimeoutTicks: config.raft.electionTicks, heartbeatIntervalTicks: config.raft.heartbeatTicks },
      vip: { hook: s.vipHook, globalVip: config.clusterVip, localVip: azSpec?.localVip ?? null },
      // Certificates point relying parties at their issuer's CRL and certificate on the VIPs.
      publicHttpPort: config.http.port,
      acme: acmeOptionsOf(config.acme),
      audit: config.audit,
      // The mesh, the HTTPS listeners and the peer client take up a renewed TLS certificate
      // (serve/node-tls-follower.ts); peers admit it before they apply it (transport/peer-pins.ts).
      renewNodeTls: true,
      nodeInactiveAfterSeconds: config.nodeInactiveAfterSeconds,
      nodeRemoveAfterSeconds: config.nodeRemoveAfterSeconds,
      onError: (err) => s.logger.error({ err }, 'scheduled work failed'),
    };
  };
  const node = await PkiNode.bootstrap(makeOptions, {
    probe: () => probe(config, s.host, s.logger),
    pkiInitRetry: Math.max(1, config.pkiInitRetry),
    mayFoundCluster: s.mayFoundCluster,
    pause: (attempt) => new Promise((r) => setTimeout(r, Math.min(config.timeouts.initRequestMs * attempt, 5_000))),
    hasState: s.hasState,
    clusterId: s.clusterId,
    ...(s.restore === undefined ? {} : { restore: s.restore }),
    ...(s.offlineRoot === undefined ? {} : { offlineRoot: s.offlineRoot }),
    azSpec: azSpec === undefined ? { name: config.az, subnets: [], localVip: '' } : { name: azSpec.name, subnets: [...azSpec.subnets], localVip: azSpec.localVip },
    settings: { ...DEFAULT_CLUSTER_SETTINGS, allowedNames: allowedNamesOf(config) },
  });
  const started = current as StartedNode | null;
  if (started === null) throw new Error('assertion failed: bootstrap made options');
  return { ...started, node };
}

/** IP SANs a new cluster admits when `allowedIpCidrs` is not set: loopback and its AZs' client subnets. */
const LOOPBACK_CIDRS = ['127.0.0.0/8', '::1/128'];

/** The names the built-in profiles of the cluster this node may found issue for (docs/architecture.md §16.2). */
function allowedNamesOf(config: NodeConfig): AllowedNames {
  const ipCidrs = config.allowedIpCidrs ?? [...new Set([...LOOPBACK_CIDRS, ...(config.azs ?? []).flatMap((a) => a.subnets)])];
  return { dnsDomains: [...config.allowedDomains], ipCidrs };
}

/**
 * One `GET /api/v1/status` at the cluster VIP, following the 307 to our AZ's local VIP. 200: our
 * AZ answers (its local leader is in the status). 404 ERR_AZ_UNKNOWN: the cluster exists, our
 * AZ does not; AZ founding goes to whoever holds the cluster VIP, so the leader id is that VIP.
 */
async function probe(config: NodeConfig, host: string, logger: Logger): Promise<ProbeAnswer | null> {
  // Naming our AZ: a node of an AZ the cluster does not know yet is in no AZ's subnets, and would
  // otherwise be answered as a client in no AZ instead of being told to found its AZ.
  let url = `http://${config.clusterVip}:${config.http.port}/api/v1/status?az=${encodeURIComponent(config.az)}`;
  for (let hop = 0; hop < 3; hop++) {
    const target = url;
    const r = await retryRequest(() => httpCall(target, { timeoutMs: config.timeouts.initRequestMs, maxResponseBytes: 64 * 1024, localAddress: host }), config.pkiInitRequestRetry);
    if (r === null) {
      logger.info({ url, retries: config.pkiInitRequestRetry }, 'discovery: no answer');
      return null;
    }
    const body = jsonOf(r) as { clusterId?: unknown; local?: { leaderId?: unknown }; error?: { code?: unknown } } | undefined;
    if (r.status === 307 && typeof r.headers.location === 'string') {
      url = r.headers.location;
      continue;
    }
    if (r.status === 404 && body?.error?.code === 'ERR_AZ_UNKNOWN') return { kind: 'azUnknown', clusterId: '', globalLeaderId: CLUSTER_VIP_HOLDER };
    // Any other answer (200, or 503 while the AZ elects) proves a cluster exists: never found one.
    const leader = r.status === 200 ? body?.local?.leaderId : null;
    if (typeof leader !== 'string') logger.info({ url, status: r.status, code: body?.error?.code }, 'discovery: no local leader yet');
    return { kind: 'azExists', clusterId: typeof body?.clusterId === 'string' ? body.clusterId : '', localLeaderId: typeof leader === 'string' ? leader : null };
  }
  return null;
}

/**
 * One request of a discovery attempt, tried again up to `retries` times while it gets no answer
 * (`pkiInitRequestRetry`, docs/spec.md §3.1.1): null when no try was answered. An answer of any
 * status ends the tries; only the discovery attempts (`pkiInitRetry`) decide what it means.
 */
export async function retryRequest<T>(request: () => Promise<T>, retries: number): Promise<T | null> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await request();
    } catch {
      if (attempt >= retries) return null;
    }
  }
}

/** The BootstrapClient sends `foundAz` to the cluster VIP, whoever holds it. */
const CLUSTER_VIP_HOLDER = 'cluster-vip';
