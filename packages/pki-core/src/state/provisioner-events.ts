// The events of provisioners (node/provisioners/): issuing credentials narrower than the admin
// token, each a public key and a policy. All of them are global (node/core/pki-application.ts):
// a policy must hold in every AZ, and a one-time token is spent once for the whole cluster.
import type { ProvisionerPolicy } from '../node/provisioners/provisioner-policy.ts';
import type { ProvisionerJwk } from '../node/provisioners/provisioner-token.ts';

export interface ProvisionerSpec {
  /** The provisioner's name: the `iss` of its tokens. */
  readonly name: string;
  /** The public JWK its tokens are verified with (ES256 or EdDSA). */
  readonly publicKey: ProvisionerJwk;
  readonly policy: ProvisionerPolicy;
}

/** An admin adds a provisioner; a name already taken is refused (remove it first). */
export interface ProvisionerAddedEvent {
  type: 'ProvisionerAdded';
  provisioner: ProvisionerSpec;
  requestedBy: string;
  at: number;
}

/** An admin removes a provisioner: its tokens issue nothing from the next event on. */
export interface ProvisionerRemovedEvent {
  type: 'ProvisionerRemoved';
  name: string;
  requestedBy: string;
  at: number;
}

/**
 * A one-time token spent by an issuance, committed in the global log before the certificate is
 * handed out: of two requests racing with one token exactly one wins, in whichever AZ each ran.
 * The proposer verified the token; apply checks the provisioner still exists and the `jti` is new.
 */
export interface ProvisionerTokenUsedEvent {
  type: 'ProvisionerTokenUsed';
  provisioner: string;
  /** The token's `jti`. */
  tokenId: string;
  /** The token's `sub`: the certificate's subject CN. */
  subject: string;
  /** When the token stops being valid (ms; its `exp` × 1000): the spend may be forgotten after it. */
  expiresAt: number;
  /**
   * The AZ that spent it and the request it was spent for (`tokenRequestHash`: CSR key, SANs,
   * profile, lifetime): the same request retried there within the idempotency window gets the
   * certificate (issued then, or now if the first attempt failed after the spend) without a
   * second spend (node/provisioners/token-issuance.ts).
   */
  spentFor?: TokenSpentFor;
  at: number;
}

export interface TokenSpentFor {
  az: string;
  /** SHA-256 hex. */
  requestHash: string;
}

export type ProvisionerEvent = ProvisionerAddedEvent | ProvisionerRemovedEvent | ProvisionerTokenUsedEvent;
