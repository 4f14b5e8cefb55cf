// What the state holds for ACME (table `acme`), and how its keys are built. One table with
// one key prefix per record kind keeps the snapshot's table list unchanged for a state without
// ACME (snapshot.ts omits an empty `acme` table).
import type { AcmeChallengeType, AcmeIdentifier, AcmeProblemData } from './acme-events.ts';

export interface AcmeAccountRecord {
  kind: 'account';
  accountId: string;
  keyThumbprint: string;
  jwkJson: string;
  contact: string[];
  status: 'valid' | 'deactivated';
  eabKeyId: string | null;
  createdAt: number;
}

/** One account per key (RFC 8555 §7.3.1): the key's thumbprint names its account. */
interface AcmeKeyRecord {
  kind: 'key';
  accountId: string;
}

interface AcmeChallengeRecord {
  type: AcmeChallengeType;
  token: string;
  status: 'pending' | 'valid' | 'invalid';
  validatedAt: number | null;
  error: AcmeProblemData | null;
}

export interface AcmeAuthzRecord {
  kind: 'authz';
  authzId: string;
  orderId: string;
  accountId: string;
  identifier: AcmeIdentifier;
  wildcard: boolean;
  /** `pending` and `valid` turn into `expired` at `expiresAt` when read (RFC 8555 §7.1.6). */
  status: 'pending' | 'valid' | 'invalid' | 'deactivated';
  expiresAt: number;
  challenges: AcmeChallengeRecord[];
}

export interface AcmeOrderRecord {
  kind: 'order';
  orderId: string;
  accountId: string;
  identifiers: AcmeIdentifier[];
  authzIds: string[];
  /** `pending` and `ready` turn into `invalid` at `expiresAt` when read (RFC 8555 §7.1.6). */
  status: 'pending' | 'ready' | 'valid' | 'invalid';
  expiresAt: number;
  error: AcmeProblemData | null;
  certificate: { issuerId: string; serialHex: string } | null;
  replaces: string | null;
  /** The directory that took it (AcmeOrderCreatedEvent.directory); absent: the default one. */
  directory?: string;
  createdAt: number;
}

/** An external account binding key (RFC 8555 §7.3.4): sealed HMAC key, and the account it bound. */
interface AcmeEabRecord {
  kind: 'eab';
  keyId: string;
  keySealed: Uint8Array;
  accountId: string | null;
  createdAt: number;
}

export type AcmeRecord = AcmeAccountRecord | AcmeKeyRecord | AcmeAuthzRecord | AcmeOrderRecord | AcmeAccountOrderRecord | AcmeEabRecord;

const SEP = '\x00';

export function acmeAccountKey(accountId: string): string {
  return 'account' + SEP + accountId;
}

export function acmeKeyKey(keyThumbprint: string): string {
  return 'key' + SEP + keyThumbprint;
}

/** The key prefix of the EAB key records (`prefixRange(ACME_EAB_PREFIX)` lists them). */
export const ACME_EAB_PREFIX = 'eab';

export function acmeEabKey(keyId: string): string {
  return ACME_EAB_PREFIX + SEP + keyId;
}

export function acmeOrderKey(orderId: string): string {
  return 'order' + SEP + orderId;
}

export function acmeAuthzKey(authzId: string): string {
  return 'authz' + SEP + authzId;
}

/** An account's orders by creation time (16 hex digits, so key order is time order): rate limits, listing. */
export function acmeAccountOrderKey(accountId: string, createdAt: number, orderId: string): string {
  return acmeAccountOrdersPrefix(accountId) + SEP + createdAt.toString(16).padStart(16, '0') + SEP + orderId;
}

export function acmeAccountOrdersPrefix(accountId: string): string {
  return 'orders' + SEP + accountId;
}

interface AcmeAccountOrderRecord {
  kind: 'accountOrder';
  orderId: string;
}
