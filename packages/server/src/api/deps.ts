// What the API handlers need: the node, through its public PkiNodeApi only (its reads of the
// replicated state included: each says whether it waits for the read barrier), the peer client
// for requests that must reach the AZ's local leader, and the secrets that authenticate callers.
import type { PeerClient, PkiNodeApi } from '@adrestia/pki-core';
import type { NonceReplayGuard } from '@adrestia/pki-core/registration';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { PeerPins } from '../transport/peer-pins.ts';

export interface ApiDeps {
  node: PkiNodeApi;
  peers: PeerClient;
  /** pkiGlobalVip: where clients outside every founded AZ are sent (docs/spec.md §4.5). */
  globalVip: string;
  /** The ports every node and VIP listens on (redirects keep the scheme's port). */
  ports: { http: number; https: number };
  /** The pre-shared key (Phase II proofs); never logged, never sent. */
  /** Absent on a node that joined with a join token only (it proves nothing with a PSK). */
  psk: Uint8Array | undefined;
  /** Bearer credential of admin operations; absent: admin routes refuse every caller. */
  adminToken: Uint8Array | undefined;
  /** HS256 key of the join tokens minted by the admin route; absent: that route refuses. */
  joinTokenKey?: Uint8Array | undefined;
  replayGuard: NonceReplayGuard;
  nowMs: () => number;
  randomBytes: (length: number) => Uint8Array;
  logger: Logger;
  metrics: Metrics;
  /** The certificate each node may present on the peer endpoint (refreshed with the peer directory). */
  peerPins: Pick<PeerPins, 'requirePinned' | 'requireExpiredPinned'>;
  /** Cap of a node-to-node request body (registration CSRs, encoded events). */
  maxPeerBodyBytes: number;
}
