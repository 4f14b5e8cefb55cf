// What every CA operation of a node shares: how a CA is named in the replicated state (its
// `issuerId`), how its wrapped key is bound, and how CA validity windows are chosen. Pure functions; time comes in as `nowMs`.
import type { KeyObject } from 'node:crypto';
import { toHex } from '../../ca/der.ts';
import { keyIdentifier } from '../../ca/extensions.ts';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { unwrapPrivateKey, type KeyWrapBinding } from '../../ca/key-wrap.ts';
import { KeyObjectSigner, type Signer } from '../../ca/signer.ts';
import type { CertificateProfile } from '../../ca/profiles.ts';
import { PkiError } from '../../errors.ts';
import type { CaRole } from '../../state/events.ts';
import type { CaRecord } from '../../state/records.ts';
import type { KekRing } from '../kek/kek-ring.ts';

/**
 * A CA this node can sign with: its certificate, a signer for its key, and its id in the state.
 * The signer's key must be the certificate's (the CA engine checks, ERR_SIGNER_MISMATCH).
 */
export interface CaHandle {
  readonly cert: Uint8Array;
  readonly signer: Signer;
  readonly issuerId: string;
}

/** Seconds a new certificate's notBefore is set back, so peers with slightly slow clocks accept it at once. */
const CA_BACKDATE_SECONDS = 60;

/**
 * The id of a CA in the replicated state: the hex of its key identifier (RFC 5280 §4.2.1.2
 * method 1, SHA-1 of the subjectPublicKey bits) — the value of its SKI extension and of the AKI
 * of everything it signs, so a certificate names its issuer's id without a lookup.
 */
export function issuerIdOf(spkiDer: Uint8Array): string {
  return toHex(keyIdentifier(spkiDer));
}

const WRAP_PURPOSE: Record<Exclude<CaRole, 'node'>, string> = { root: 'root', az: 'azIntermediate' };

/**
 * The binding a root or AZ CA key is wrapped with: purpose by role, key id = issuerId. A blob
 * cannot be unwrapped as another CA's key (key-wrap.ts puts the binding in the AAD).
 */
export function caKeyBinding(role: CaRole, issuerId: string): KeyWrapBinding {
  // docs/architecture.md §4.2: a node ICA key never leaves its node, so it is never wrapped into
  // the state.
  if (role === 'node') throw new TypeError('caKeyBinding: node CA keys are never wrapped');
  return { purpose: WRAP_PURPOSE[role], keyId: issuerId };
}

/** A sealed key opened under one KEK, or under whichever of a node's KEKs opens it (kek/kek-ring.ts). */
export function unwrapUnder(kek: Uint8Array | KekRing, wrapped: Uint8Array, binding: KeyWrapBinding): KeyObject {
  return kek instanceof Uint8Array ? unwrapPrivateKey(wrapped, kek, binding) : kek.unwrap(wrapped, binding);
}

/**
 * A signer for a root or AZ CA recorded in the state, unwrapping its key under the operator's KEK
 * (in memory only). ERR_KEY_UNWRAP for a wrong KEK; ERR_NOT_FOUND when the state holds no key
 * (a node CA, or an offline root).
 */
export function caSignerFromRecord(ca: CaRecord, kek: Uint8Array | KekRing): CaHandle {
  if (ca.role === 'node' || ca.wrappedKey === null) {
    throw new PkiError('ERR_NOT_FOUND', `the state holds no key for ${ca.role} CA ${ca.issuerId}`, { field: 'wrappedKey' });
  }
  const key = unwrapUnder(kek, ca.wrappedKey, caKeyBinding(ca.role, ca.issuerId));
  return { cert: ca.certDer, signer: new KeyObjectSigner(key), issuerId: ca.issuerId };
}

export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * The validity of a certificate issued at `nowMs` for `lifetimeSeconds` (default: the profile's),
 * checked against the profile's bounds, inside the issuer's validity when given, ending no later
 * than `issuerNotAfter`:
 * a CA certificate is cut to its parent's end (RFC 5280 §6.1.3: it could not be used past it).
 */
export function caValidity(
  profile: CertificateProfile,
  nowMs: number,
  lifetimeSeconds?: number,
  issuerNotAfter?: Date,
  issuerNotBefore?: Date,
): Validity {
  const seconds = lifetimeSeconds ?? profile.lifetime.defaultSeconds;
  if (!Number.isSafeInteger(seconds) || seconds < profile.lifetime.minSeconds || seconds > profile.lifetime.maxSeconds) {
    throw new PkiError(
      'ERR_LIFETIME_INVALID',
      `${profile.name}: lifetime ${seconds} s is outside ${profile.lifetime.minSeconds}..${profile.lifetime.maxSeconds} s`,
      { field: 'lifetimeSeconds' },
    );
  }
  checkNow(nowMs);
  let notBefore = new Date(nowMs - CA_BACKDATE_SECONDS * 1000);
  // The backdate never reaches before the issuer's own validity (resolve-issuance.ts does the same for leaves).
  if (issuerNotBefore !== undefined && notBefore.getTime() < issuerNotBefore.getTime()) notBefore = issuerNotBefore;
  let notAfter = new Date(nowMs + seconds * 1000);
  if (issuerNotAfter !== undefined && notAfter.getTime() > issuerNotAfter.getTime()) notAfter = issuerNotAfter;
  if (notAfter.getTime() <= nowMs) {
    throw new PkiError('ERR_LIFETIME_EXCEEDS_ISSUER', `${profile.name}: the issuer expires at ${notAfter.toISOString()}`, { field: 'issuer' });
  }
  return { notBefore, notAfter };
}

/** Misuse guard: times are integer milliseconds since the epoch (events.ts convention). */
export function checkNow(nowMs: number): void {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) throw new TypeError('nowMs must be a non-negative integer (ms since the epoch)');
}

/** notAfter of a built certificate in ms, as written (whole seconds), for the event's `notAfter`. */
export function notAfterMsOf(certDer: Uint8Array): number {
  return readCertificateFields(certDer).notAfter.getTime();
}
