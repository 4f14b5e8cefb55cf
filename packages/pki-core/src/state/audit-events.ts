// The signed checkpoint of an audit chain (audit-chain.ts, docs/architecture.md §18): a node
// attests "the chain of `log` has head `head` after `position` commands", signed before proposing
// with its node ICA key over `auditCheckpointSigningBytes`; the event carries the signature and the
// signer's certificate chain, so a verifier holding the cluster's roots checks it with nothing
// else. The global leader checkpoints the global log in the global log; each AZ's local leader
// checkpoints its AZ's local log in that local log (node/audit/audit-checkpoints.ts).
/** A log of the two tiers, as its audit chain names it (audit-chain.ts). */
export type AuditLog = 'global' | 'local';

export interface AuditCheckpointEvent {
  type: 'AuditCheckpoint';
  /** The log attested, which is also the log carrying the event (node/core/pki-application.ts). */
  log: AuditLog;
  /** The signer's AZ: for a local log, the AZ whose log it is. */
  az: string;
  /** The number of commands the attested head covers (≥ 1: commands before this event). */
  position: number;
  /** The chain head after `position` commands (32 bytes). */
  head: Uint8Array;
  signerNodeId: string;
  /** DER certificates, the signer's node ICA first, then its AZ ICA (the root is the verifier's). */
  chainDer: Uint8Array[];
  /** The node ICA key's signature over `auditCheckpointSigningBytes` (ECDSA: DER Ecdsa-Sig-Value). */
  signature: Uint8Array;
  at: number;
}
