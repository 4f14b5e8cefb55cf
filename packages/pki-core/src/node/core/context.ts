// What every feature of a node may know about the node it runs in: its identity, where it is
// reached, its clocks and randomness, its keys and peers, and the limits the features apply.
// Built once by the composition root (pki-node.ts) from PkiNodeOptions; plain data and
// functions, so a feature states the few fields it uses as `Pick<NodeContext, …>` and a test can
// hand it exactly those.
import type { Clock, RandomSource } from '@adrestia/consensus';
import type { CaKeyType } from '../../ca/keys.ts';
import type { NodeAddresses } from '../../state/events.ts';
import type { NodeKeys, NodeKeyStore } from '../ca/ca-node-keys.ts';
import type { KekRing } from '../kek/kek-ring.ts';
import type { PeerClient } from '../peer/protocol.ts';

export interface NodeContext {
  readonly nodeId: string;
  readonly az: string;
  readonly addresses: NodeAddresses;
  /** The operator's key-encryption keys (kek/kek-ring.ts): unwrap root, AZ ICA and OCSP responder keys in memory. */
  readonly kek: KekRing;
  /** Key type of the node ICA and TLS keys and of the AZ ICAs this node creates. */
  readonly caKeyType: CaKeyType;
  /** Where the node makes and keeps its own keys. */
  readonly keyStore: NodeKeyStore;
  /** This node's ICA and TLS keys, once made (founding, joining) or loaded (restart). */
  readonly ownKeys: OwnKeys;
  readonly peers: PeerClient;
  /** Serials, token ids and every other random draw of the PKI layer. */
  readonly random: RandomSource;
  /** Wall-clock time for certificates and events (ms since epoch). */
  readonly nowMs: () => number;
  /** A monotonic clock in ms for lease timing (VIP fencing): a wall clock may step back (NTP). */
  readonly monotonicMs: () => number;
  /** The node's timers (virtual time in the simulator). */
  readonly clock: Clock;
  readonly tickMs: number;
  /** The cluster VIP (pkiGlobalVip), when configured. */
  readonly globalVip: string | null;
  /** The port of the public HTTP endpoints, when known: certificates then name their CRL and issuer URLs (ca/issuer-urls.ts). */
  readonly publicHttpPort: number | undefined;
  /** How often scheduled work runs, in ticks (maintenance/). */
  readonly maintenanceEveryTicks: number;
  /** How far ahead a CRL this node publishes promises its successor (RFC 5280 §5.1.2.5). */
  readonly crlNextUpdateSeconds: number;
  /** A complete CRL at least this large gets delta CRLs between re-signings (node/revocation/crl-delta.ts). */
  readonly crlDeltaAboveBytes: number;
  /** Partition CRLs of each node ICA this node signs (state/crl-partitions.ts); 0: one unpartitioned CRL. */
  readonly crlPartitions: number;
  /** Unexpected failures of scheduled work (logged by the server; never thrown at callers). */
  readonly onError: (error: unknown) => void;
  /** True once the node is stopping: retries and waits give up. */
  readonly isStopped: () => boolean;
  /** Resolves after `n` ticks of `clock`. */
  readonly sleepTicks: (n: number) => Promise<void>;
}

/** The node's own keys: none until founding, joining or a restart makes or loads them. */
export class OwnKeys {
  private keys: NodeKeys | null = null;

  get(): NodeKeys | null {
    return this.keys;
  }

  set(keys: NodeKeys): void {
    this.keys = keys;
  }
}
