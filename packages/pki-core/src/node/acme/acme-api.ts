// What the server's ACME endpoints ask of the node (PkiNodeApi.acme). JWS, nonces, URLs and
// challenge fetching are the server's (packages/server/src/acme/); the objects and every change
// to them are here, in the replicated state. Every read waits for the read barrier: an ACME
// client may have written what it reads, through any node of the AZ.
import type { AcmeChallengeType, AcmeProblemData } from '../../state/acme-events.ts';
import type { AcmeAccountRecord, AcmeAuthzRecord, AcmeOrderRecord } from '../../state/acme-records.ts';
import type { RenewalWindow } from './acme-renewal-info.ts';

export type { AcmeAccountRecord };

/** An order as a client sees it now: `pending` or `ready` past `expiresAt` reads as `invalid` (RFC 8555 §7.1.6). */
export type AcmeOrderView = AcmeOrderRecord;
/** An authorization as a client sees it now: `pending` or `valid` past `expiresAt` reads as `expired`. */
export type AcmeAuthzView = Omit<AcmeAuthzRecord, 'status'> & { status: AcmeAuthzRecord['status'] | 'expired' };

export interface NewAcmeAccount {
  keyThumbprint: string;
  jwkJson: string;
  contact: string[];
  eabKeyId?: string;
}

export interface NewAcmeOrder {
  accountId: string;
  identifiers: unknown[];
  /** RFC 9773 §5 `replaces`: `<AKI>.<serial>` of a certificate of the same account. */
  replaces?: string;
  /** A directory of AcmeOptions.directories; absent: the default directory. */
  directory?: string;
}

export interface AcmeFinalized {
  order: AcmeOrderView;
}

/** One page of an account's orders in this AZ (RFC 8555 §7.1.2.1). */
export interface AcmeOrderPage {
  orderIds: string[];
  /** The cursor of the next page, or null after the last. */
  next: string | null;
}

export interface AcmeNodeApi {
  /** A fresh anti-replay nonce (RFC 8555 §7.2), good on every node of the cluster, once. */
  newNonce(): string;
  /** Accepts the nonce if it is of this cluster, unexpired and unused; then never again. */
  consumeNonce(nonce: string): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** The account bound to this key, if any (RFC 8555 §7.3.1 "same key, same account"). */
  accountByKey(keyThumbprint: string): Promise<AcmeAccountRecord | undefined>;
  account(accountId: string): Promise<AcmeAccountRecord | undefined>;
  /** Creates the account (global commit), or returns the one this key already has. */
  createAccount(request: NewAcmeAccount): Promise<{ account: AcmeAccountRecord; created: boolean }>;
  /** Admin: a new external account binding key (RFC 8555 §7.3.4), committed globally; the HMAC key is shown once. */
  createEabKey(): Promise<{ keyId: string; hmacKey: Uint8Array }>;
  /** The HMAC key of an external account binding key id, and the account it bound, if any. */
  eabKey(keyId: string): Promise<{ hmacKey: Uint8Array; accountId: string | null } | undefined>;
  /** RFC 8555 §7.3.2 and §7.3.6. */
  updateAccount(accountId: string, update: { contact?: string[]; deactivate: boolean }): Promise<AcmeAccountRecord>;
  /** RFC 8555 §7.3.5: `newKey` must not be bound to an account yet. */
  changeAccountKey(accountId: string, oldKeyThumbprint: string, newKey: { keyThumbprint: string; jwkJson: string }): Promise<AcmeAccountRecord>;
  /** Checks identifiers, policy and rate limits, then commits the order locally. */
  newOrder(request: NewAcmeOrder): Promise<AcmeOrderView>;
  /** The account's orders in this AZ, oldest first, invalid ones left out; `cursor` from the previous page. */
  accountOrders(accountId: string, cursor?: string): Promise<AcmeOrderPage>;
  /** The order, when it belongs to `accountId` (`unauthorized` otherwise). */
  order(accountId: string, orderId: string): Promise<AcmeOrderView>;
  authz(accountId: string, authzId: string): Promise<AcmeAuthzView>;
  /** RFC 8555 §7.5.2. */
  deactivateAuthz(accountId: string, authzId: string): Promise<AcmeAuthzView>;
  /** Commits one validation attempt's outcome (absent `error`: the challenge is valid). */
  recordValidation(authzId: string, type: AcmeChallengeType, error?: AcmeProblemData): Promise<AcmeAuthzView>;
  /** RFC 8555 §7.4: the CSR must name exactly the order's identifiers; issues and commits. */
  finalize(accountId: string, orderId: string, csrDer: Uint8Array): Promise<AcmeFinalized>;
  /** RFC 9773 §4.2: when to renew the certificate `<AKI>.<serial>` of this AZ (at once if revoked). */
  renewalInfo(certId: string): Promise<RenewalWindow>;
  /** The order's certificate chain (leaf first, root left out), PEM. */
  certificateChain(accountId: string, orderId: string): Promise<string>;
}
