// A root rollover when the cluster's root is held offline (docs/architecture.md §19.1,
// founding/ca-offline-root.ts): the state holds no key of the current root, so of the two cross
// certificates (RFC 4158 §2.3) the one the current root signs — "new root certified by the
// previous one" — is made in two steps with the operator's offline signing in between, as an AZ
// ICA under an offline root is:
//
//  1. `prepareOfflineRootRollover` makes the new root (its key sealed under the KEK at once, as
//     for an online rollover) and returns plain data: the TBSCertificate to sign and what
//     finishing needs — the operator keeps it in a file between the steps;
//  2. the operator signs `tbsDer` with the offline root key (`openssl dgst -sha256 -sign root.key`);
//  3. `completeOfflineRootRollover` checks that signature against the current root's key, proves
//     the sealed key is the new root's and this cluster's (it unwraps under the KEK), has the new
//     root certify the previous one, and returns the `RootRolledOver` event.
// The new root's key is in the state: from then on the cluster signs with it (AZ ICAs are
// re-issued under it at once), and the next rollover needs no offline step.
import { completeCertificate, buildUnsignedCertificate } from '../../ca/issue.ts';
import type { SignatureAlgorithm } from '../../ca/algorithms.ts';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { KeyObjectSigner, offlineSigner } from '../../ca/signer.ts';
import { PkiError } from '../../errors.ts';
import type { RootRolledOverEvent } from '../../state/events.ts';
import type { KekRing } from '../kek/kek-ring.ts';
import { caKeyBinding, checkNow, issuerIdOf, unwrapUnder, type CaHandle } from './ca-common.ts';
import { crossCertificateInput, crossCertificateOf, crossCertify, makeRolledRoot, rolloverEvent, type BuildRootRolloverInput } from './rollover-certs.ts';

/** Step 1's result: plain, serializable data (the new root's key inside is sealed under the KEK). */
export interface PendingRootRollover {
  /** The offline root that must sign `tbsDer`: the cluster's root when this was prepared. */
  readonly previousRootIssuerId: string;
  readonly rootIssuerId: string;
  /** The new root's self-signed certificate. */
  readonly rootCertDer: Uint8Array;
  /** The new root's key, AES-256-GCM under the KEK, bound to it (key-wrap.ts). */
  readonly wrappedRootKey: Uint8Array;
  /** DER TBSCertificate of the new root certified by the previous one; its signature algorithm is the previous root key's. */
  readonly tbsDer: Uint8Array;
  readonly serialHex: string;
  /** What the offline root signs `tbsDer` with (ca/algorithms.ts): `ecdsa-with-SHA256` → `openssl dgst -sha256 -sign`. */
  readonly signatureAlgorithm: SignatureAlgorithm;
  /** How long the cross certificates may last (ms since epoch): while both roots do. */
  readonly crossNotAfterMax: number;
}

/** The previous root as a handle that signs nothing here (ca/signer.ts offlineSigner). */
function offlineRootHandle(certDer: Uint8Array): CaHandle {
  const spki = readCertificateFields(certDer).spkiDer;
  return { cert: certDer, signer: offlineSigner(spki), issuerId: issuerIdOf(spki) };
}

export type PrepareOfflineRootRolloverInput = Omit<BuildRootRolloverInput, 'previous'> & { readonly previousCertDer: Uint8Array };

export async function prepareOfflineRootRollover(input: PrepareOfflineRootRolloverInput): Promise<PendingRootRollover> {
  const previous = offlineRootHandle(input.previousCertDer);
  const made = await makeRolledRoot({ ...input, previous });
  const unsigned = buildUnsignedCertificate(crossCertificateInput(input, previous, made.root, made.bothEnd));
  return {
    previousRootIssuerId: previous.issuerId,
    rootIssuerId: made.root.issuerId,
    rootCertDer: made.root.cert,
    wrappedRootKey: made.wrappedRootKey,
    tbsDer: unsigned.tbsDer,
    serialHex: unsigned.serialHex,
    signatureAlgorithm: previous.signer.algorithm,
    crossNotAfterMax: made.bothEnd.getTime(),
  };
}

export interface CompleteOfflineRootRolloverInput extends Omit<BuildRootRolloverInput, 'previous' | 'rootSubject' | 'kek' | 'keyType' | 'generateKey'> {
  readonly pending: PendingRootRollover;
  /** The offline root's signature over `pending.tbsDer` (for ECDSA, the DER Ecdsa-Sig-Value). */
  readonly signature: Uint8Array;
  /** The cluster's current root certificate (its key is not needed). */
  readonly previousCertDer: Uint8Array;
  readonly kek: KekRing | Uint8Array;
}

/** Unwraps the pending root key: it must open under the KEK and be the key of the pending root certificate. */
function pendingRoot(pending: PendingRootRollover, kek: KekRing | Uint8Array): CaHandle {
  const binding = caKeyBinding('root', pending.rootIssuerId);
  const key = new KeyObjectSigner(unwrapUnder(kek, pending.wrappedRootKey, binding));
  const certSpki = readCertificateFields(pending.rootCertDer).spkiDer;
  if (issuerIdOf(certSpki) !== pending.rootIssuerId || issuerIdOf(key.spkiDer) !== pending.rootIssuerId) {
    throw new PkiError('ERR_INPUT_INVALID', 'pending: the sealed key is not the pending root certificate\'s', { field: 'pending' });
  }
  return { cert: pending.rootCertDer, signer: key, issuerId: pending.rootIssuerId };
}

/** The TBS joined with the operator's signature; a signature the previous root did not make is bad input (ERR_INPUT_INVALID, field signature). */
function signedByOfflineRoot(pending: PendingRootRollover, previous: CaHandle, signature: Uint8Array): { der: Uint8Array; serialHex: string } {
  try {
    return completeCertificate({ tbsDer: pending.tbsDer, serialHex: pending.serialHex, signer: previous.signer, isCa: true }, signature);
  } catch (e) {
    if (!(e instanceof PkiError) || e.code !== 'ERR_SIGNER_MISMATCH') throw e;
    throw new PkiError('ERR_INPUT_INVALID', `signature: it does not verify with the key of the offline root ${previous.issuerId}`, { field: 'signature', cause: e });
  }
}

/**
 * Joins the TBS and the offline signature after checking it with the previous root's key
 * (ERR_INPUT_INVALID naming `signature` otherwise), has the new root certify the previous one, and returns the event.
 */
export async function completeOfflineRootRollover(input: CompleteOfflineRootRolloverInput): Promise<RootRolledOverEvent> {
  checkNow(input.nowMs);
  const { pending } = input;
  const previous = offlineRootHandle(input.previousCertDer);
  if (previous.issuerId !== pending.previousRootIssuerId) {
    throw new PkiError('ERR_INPUT_INVALID', `pending: prepared under root ${pending.previousRootIssuerId}, but the cluster's root is ${previous.issuerId}`, { field: 'pending' });
  }
  const root = pendingRoot(pending, input.kek);
  const newByOld = signedByOfflineRoot(pending, previous, input.signature);
  const fields = readCertificateFields(newByOld.der);
  const rootFields = readCertificateFields(root.cert);
  if (!Buffer.from(fields.spkiDer).equals(Buffer.from(rootFields.spkiDer)) || !Buffer.from(fields.subjectNameDer).equals(Buffer.from(rootFields.subjectNameDer))) {
    throw new PkiError('ERR_INPUT_INVALID', 'pending: the signed certificate does not certify the pending root', { field: 'pending' });
  }
  const oldByNew = await crossCertify(input, root, previous, new Date(pending.crossNotAfterMax));
  const made = { root, serialHex: rootFields.serialHex, wrappedRootKey: pending.wrappedRootKey, bothEnd: new Date(pending.crossNotAfterMax) };
  return rolloverEvent({ previous, nowMs: input.nowMs }, made, [crossCertificateOf(previous.issuerId, root.issuerId, newByOld), oldByNew]);
}
