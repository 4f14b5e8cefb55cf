// The node-to-node mTLS mesh of a started node and the two Raft groups on it: group `local`
// (node-addressed, sender must be the node it claims), group `seat` (AZ-addressed) and group
// `state` (state transfer between the nodes of the AZ, lazy-state-channel.ts).
import { systemRandom } from '@adrestia/consensus';
import type { PkiNodeApi } from '@adrestia/pki-core';
import type { NodeConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import { countTransportEvents, type Metrics } from '../metrics/metrics.ts';
import type { NodeTlsMaterial } from '../peer/https-peer-client.ts';
import { GroupTransport } from '../transport/group-transport.ts';
import { MtlsMesh } from '../transport/mesh.ts';
import { DEFAULT_MESH_LIMITS } from '../transport/types.ts';
import type { LazyStateChannel } from './lazy-state-channel.ts';
import type { LazyTransport } from './lazy-transport.ts';
import type { PeerDirectory } from './peer-directory.ts';
import { SeatTransport } from './seat-transport.ts';

const LOCAL_GROUP = 'local';

export interface MeshSetup {
  config: NodeConfig;
  node: PkiNodeApi;
  tls: NodeTlsMaterial;
  directory: PeerDirectory;
  localTransport: LazyTransport;
  seatTransport: LazyTransport;
  stateChannel: LazyStateChannel;
  logger: Logger;
  metrics: Metrics;
}

export async function attachMesh(s: MeshSetup): Promise<MtlsMesh> {
  const mesh = new MtlsMesh({
    nodeId: s.node.nodeId,
    tls: s.tls,
    ...DEFAULT_MESH_LIMITS,
    maxFrameBytes: s.config.raft.maxFrameBytes,
    random: systemRandom,
    logger: s.logger,
    onEvent: countTransportEvents(s.metrics),
    // With the certificate, so a renewal not applied here yet is recognised (peer-pins.ts).
    admitPeer: (id, certSha256, cert) => s.directory.pins.admitMeshPeer(id, certSha256, cert),
    admitExpiredPeer: (id, certSha256) => s.directory.pins.requireExpiredPinned(id, certSha256),
  });
  s.directory.attach(mesh);
  s.localTransport.attach(
    new GroupTransport(mesh, {
      group: LOCAL_GROUP,
      localMemberId: s.node.nodeId,
      resolveNode: (id) => id,
      // The sender is the node it claims to be; a node of another AZ (once known) is not a member.
      isSenderAllowed: (from, m) => from === m.from && (s.directory.azOf(from) ?? s.node.az) === s.node.az,
    }),
  );
  s.stateChannel.attach(mesh, (from) => s.directory.azOf(from) === s.node.az);
  s.seatTransport.attach(new SeatTransport(mesh, s.node.az, (az) => s.directory.nodesOf(az), (id) => s.directory.azOf(id)));
  await mesh.listen(s.config.raft.port, s.config.raft.host);
  return mesh;
}
