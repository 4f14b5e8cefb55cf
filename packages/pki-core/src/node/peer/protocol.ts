// Node-to-node requests of the PKI layer (not Raft traffic, which has its own transports). The
// server carries them over mTLS; the simulator calls the target node directly. Events travel
// encoded (the state codec), so a peer validates them exactly as the log will.
import type { CrlReason, NodeAddresses } from '../../state/events.ts';
import type { ApplyOutcome } from '../../state/outcome.ts';

/** What withdrawing a node did (admin/admin-services.ts `removeNode`). */
export interface RemovedNode {
  nodeId: string;
  /** `issuerId:serialHex` of each certificate revoked by the removal. */
  revoked: { issuerId: string; serialHex: string }[];
}

/** What decommissioning an AZ did (admin/az-admin.ts); the `removeAz` answer carries it back. */
export interface RemovedAz {
  name: string;
  /** The AZ's nodes this call withdrew (a retried call lists those it withdrew itself). */
  nodes: RemovedNode[];
  /** The AZ ICA's certificate, revoked under the root (empty when a retried call found it revoked). */
  revoked: { issuerId: string; serialHex: string }[];
}

/** An AZ re-founded (node/admin/az-refound.ts): what this call did. */
export interface RefoundedAz {
  name: string;
  /** The AZ's former nodes this call withdrew (their node ICA and TLS certificates revoked). */
  nodes: RemovedNode[];
  /** The AZ ICA its next founder is signed with (the new one; null if a retried call finds none valid). */
  azIcaIssuerId: string | null;
  /** False when the AZ was already waiting for its first node (a retried call that had completed). */
  refounded: boolean;
}

export type PeerRequest =
  /** To the local leader: propose this local event and answer with its outcome once applied. */
  | { kind: 'proposeLocal'; event: Uint8Array }
  /** To the local leader: propose this global event through the seat; answer once applied here. */
  | { kind: 'proposeGlobal'; event: Uint8Array }
  /**
   * To the global leader: found AZ `az` (AzAdded naming the founder, its AZ ICA, the seat added to
   * the global group) and register the founder with that AZ ICA; answered `registered`.
   */
  | {
      kind: 'foundAz';
      az: { name: string; subnets: string[]; localVip: string };
      nodeId: string;
      /** The founder registers in the same request: it has no certificate to reach its seat with yet. */
      addresses: NodeAddresses;
      icaCsrDer: Uint8Array;
      tlsCsrDer: Uint8Array;
      /**
       * A restore (node/founding/restore-plan.ts): the AZ's backed-up `CaCertificateInstalled`
       * events, encoded; the global leader commits them before it signs with the AZ ICA.
       */
      restoredCas?: Uint8Array[];
    }
  /**
   * To the local leader: register a new node of this AZ (its CSRs; keys stay on the node). The
   * server sends this one over PSK- or join-token-authenticated HTTPS (the newcomer has no
   * certificate yet); inside the cluster it needs no more than the mTLS of peers.
   */
  | { kind: 'register'; nodeId: string; az: string; addresses: NodeAddresses; icaCsrDer: Uint8Array; tlsCsrDer: Uint8Array }
  /**
   * To the local leader: decommission AZ `name` (node/admin/az-admin.ts). It acts for its seat,
   * which proposes the global membership change; answered `azRemoved` once `AzRemoved` committed.
   */
  | { kind: 'removeAz'; name: string; requestedBy: string }
  /**
   * To the local leader: re-found AZ `name`, whose nodes are gone (node/admin/az-refound.ts); it
   * acts for its seat, which takes the dead seat out; answered `azRefounded` once `AzRefounded` committed.
   */
  | { kind: 'refoundAz'; name: string; requestedBy: string; force: boolean }
  /**
   * To any node of the AZ that issued a certificate: revoke it (node/revocation/
   * revocation-routing.ts). The AZ asked holds the certificate; answered `revoked` once
   * `Revoked` committed globally.
   */
  | { kind: 'revoke'; serialHex: string; issuerId?: string; reason: CrlReason; requestedBy: string }
  /**
   * To the local leader, from the node itself: sign its renewed node ICA and/or TLS certificate
   * (CSRs for keys made on the node, node/ca/node-renewal.ts) with the AZ ICA and commit them
   * globally; answered `registered`. A retried request for keys already certified changes nothing.
   */
  | { kind: 'renewNode'; nodeId: string; icaCsrDer?: Uint8Array; tlsCsrDer?: Uint8Array }
  /** Health check. */
  | { kind: 'ping' }
  /**
   * To any node of the AZ that issued certificates of node CA `issuerId`: their OCSP statuses
   * after a linearizable read there (node/ocsp/ocsp-status.ts); answered `ocspStatus`.
   */
  | { kind: 'ocspStatus'; issuerId: string; serialHexes: string[] }
  /** To the node that issued an ACME nonce: accept it once (node/acme/acme-nonces.ts); answered `ok`. */
  | { kind: 'acmeNonce'; counter: string }
  /** To any node of an AZ: its state snapshot after a linearizable read there (node/admin/backup.ts); answered `stateSnapshot`. */
  | { kind: 'stateSnapshot' };

/** A certificate's status as its issuing AZ knows it (RFC 6960 §2.2 good / revoked / unknown). */
export type OcspPeerStatus = { kind: 'good' } | { kind: 'unknown' } | { kind: 'revoked'; revokedAt: number; reason: CrlReason };

export type PeerResponse =
  | { kind: 'outcome'; outcome: ApplyOutcome | null }
  | { kind: 'ok' }
  | { kind: 'registered'; icaCertDer: Uint8Array; tlsCertDer: Uint8Array }
  | { kind: 'pong'; nodeId: string; az: string; localLeader: boolean; appliedSeq: number }
  | { kind: 'azRemoved'; removal: RemovedAz }
  | { kind: 'azRefounded'; refound: RefoundedAz }
  | { kind: 'revoked'; revokedAt: number }
  | { kind: 'ocspStatus'; statuses: OcspPeerStatus[] }
  | { kind: 'stateSnapshot'; az: string; snapshot: Uint8Array }
  | { kind: 'error'; code: string; message: string; leaderId: string | null };

export interface PeerClient {
  /** Sends `request` to node `nodeId`; rejects on transport failure or timeout. */
  call(nodeId: string, request: PeerRequest): Promise<PeerResponse>;
}
