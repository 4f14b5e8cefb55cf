// The ACME events of the replicated PKI state (RFC 8555 §7.1 objects: accounts, orders,
// authorizations, challenges). Accounts are global, so an account made through one AZ signs
// requests in every AZ; orders, their authorizations and validations are local to the AZ that
// holds the order (docs/architecture.md §15). Like every event they carry the proposer's
// results — ids and tokens drawn, validation outcomes observed, times read — so applying stays
// deterministic (docs/architecture.md §4).

/** RFC 8555 §9.7.7 identifier types: `dns`, and `ip` from RFC 8738. */
type AcmeIdentifierType = 'dns' | 'ip';

export interface AcmeIdentifier {
  type: AcmeIdentifierType;
  value: string;
}

/** RFC 8555 §8 challenge types, with tls-alpn-01 from RFC 8737. */
export type AcmeChallengeType = 'http-01' | 'dns-01' | 'tls-alpn-01';

export const ACME_CHALLENGE_TYPES: readonly AcmeChallengeType[] = Object.freeze(['http-01', 'dns-01', 'tls-alpn-01']);

/** An RFC 8555 §6.7 problem as the state keeps it: the error type's last part and a detail. */
export interface AcmeProblemData {
  /** e.g. `incorrectResponse`, for `urn:ietf:params:acme:error:incorrectResponse`. */
  type: string;
  detail: string;
}

export interface AcmeAccountCreatedEvent {
  type: 'AcmeAccountCreated';
  accountId: string;
  /** RFC 7638 SHA-256 thumbprint of the account key (base64url): one account per key. */
  keyThumbprint: string;
  /** The account's public JWK as JSON text (RFC 7517). */
  jwkJson: string;
  contact: string[];
  /** The external account binding key id (RFC 8555 §7.3.4), when the account was bound. */
  eabKeyId?: string;
  at: number;
}

/**
 * An external account binding key (RFC 8555 §7.3.4) issued by the operator: its id and its HMAC
 * key sealed under the KEK (node/acme/acme-eab.ts), global like the accounts it binds, once each.
 */
export interface AcmeEabKeyCreatedEvent {
  type: 'AcmeEabKeyCreated';
  keyId: string;
  keySealed: Uint8Array;
  at: number;
}

/** RFC 8555 §7.3.2 contact update and §7.3.6 deactivation (final). */
export interface AcmeAccountUpdatedEvent {
  type: 'AcmeAccountUpdated';
  accountId: string;
  contact: string[];
  deactivate: boolean;
  at: number;
}

/** RFC 8555 §7.3.5 key change: the account keeps its id and URL, the key moves. */
export interface AcmeAccountKeyChangedEvent {
  type: 'AcmeAccountKeyChanged';
  accountId: string;
  oldKeyThumbprint: string;
  keyThumbprint: string;
  jwkJson: string;
  at: number;
}

export interface AcmeNewChallenge {
  type: AcmeChallengeType;
  /** RFC 8555 §8.1: at least 128 bits of entropy, base64url. */
  token: string;
}

export interface AcmeNewAuthz {
  authzId: string;
  identifier: AcmeIdentifier;
  /** RFC 8555 §7.1.4: the order asked for `*.` + identifier.value. */
  wildcard: boolean;
  challenges: AcmeNewChallenge[];
}

export interface AcmeOrderCreatedEvent {
  type: 'AcmeOrderCreated';
  orderId: string;
  accountId: string;
  identifiers: AcmeIdentifier[];
  authzs: AcmeNewAuthz[];
  /** After this the order, and its authorizations, are invalid (RFC 8555 §7.1.3 `expires`). */
  expiresAt: number;
  /** RFC 9773 §5: the certificate this order renews, as `<AKI>.<serial>` (base64url parts). */
  replaces?: string;
  /** The directory of `acme.directories` that took the order; absent: the default `/acme/directory`. */
  directory?: string;
  at: number;
}

/** The outcome of one validation attempt (RFC 8555 §7.5.1), as the validating node saw it. */
export interface AcmeChallengeValidatedEvent {
  type: 'AcmeChallengeValidated';
  authzId: string;
  challengeType: AcmeChallengeType;
  /** Absent: the challenge is valid. Present: it, its authorization and its order are invalid. */
  error?: AcmeProblemData;
  at: number;
}

/** RFC 8555 §7.5.2 deactivation of an authorization by its account. */
export interface AcmeAuthzDeactivatedEvent {
  type: 'AcmeAuthzDeactivated';
  authzId: string;
  accountId: string;
  at: number;
}

/** The order's certificate was issued (its `Issued` event committed before this one). */
export interface AcmeOrderFinalizedEvent {
  type: 'AcmeOrderFinalized';
  orderId: string;
  accountId: string;
  issuerId: string;
  serialHex: string;
  at: number;
}

export type AcmeEvent =
  | AcmeAccountCreatedEvent
  | AcmeAccountUpdatedEvent
  | AcmeAccountKeyChangedEvent
  | AcmeEabKeyCreatedEvent
  | AcmeOrderCreatedEvent
  | AcmeChallengeValidatedEvent
  | AcmeAuthzDeactivatedEvent
  | AcmeOrderFinalizedEvent;
