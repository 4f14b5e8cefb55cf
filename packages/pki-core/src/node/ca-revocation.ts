// Revocations and CRLs as events. A revocation is checked against the state the proposer holds
// (the issuing AZ: state/README.md "a revoke API should check the certificate in the issuing AZ
// before proposing"); the state machine decides again on apply. A CRL lists every revocation of
// its issuer still held (RFC 5280 §3.3: entries leave after the certificate expires) under the
// next CRL number (§5.2.3).
import { buildCrl, type RevokedEntry } from '../ca/crl.ts';
import { normalizeSerialHex } from '../ca/serial.ts';
import { truncateToSeconds } from '../ca/time.ts';
import { PkiError } from '../errors.ts';
import { CRL_REASON_NAMES, type CrlPublishedEvent, type CrlReason, type RevokedEvent } from '../state/events.ts';
import type { PkiStateQueries } from '../state/queries.ts';
import { checkNow, type CaHandle } from './ca-common.ts';

export interface BuildRevocationInput {
  readonly issuerId: string;
  /** Any hex form (`normalizeSerialHex`): colons, `0x`, upper case. */
  readonly serialHex: string;
  readonly reason: CrlReason;
  readonly nowMs: number;
  /** Who asked (an account, a node id, `operator`), recorded with the revocation. */
  readonly requestedBy: string;
  readonly store: PkiStateQueries;
}

/**
 * A `Revoked` event for a certificate the state holds and has not revoked: ERR_NOT_FOUND for an
 * unknown certificate, ERR_ALREADY_REVOKED for a second revocation, ERR_INPUT_INVALID for an
 * unknown reason. `removeFromCRL` is refused: it only undoes a hold in delta CRLs (RFC 5280 §5.3.1).
 */
export async function buildRevocation(input: BuildRevocationInput): Promise<RevokedEvent> {
  checkNow(input.nowMs);
  if (!(CRL_REASON_NAMES as readonly string[]).includes(input.reason) || input.reason === 'removeFromCRL') {
    throw new PkiError('ERR_INPUT_INVALID', `reason ${JSON.stringify(input.reason)} is not a revocation reason`, { field: 'reason' });
  }
  const serialHex = normalizeSerialHex(input.serialHex);
  const cert = await input.store.getCertificate(input.issuerId, serialHex);
  if (cert === undefined) {
    throw new PkiError('ERR_NOT_FOUND', `no certificate ${serialHex} from issuer ${input.issuerId}`, { field: 'serialHex' });
  }
  if ((await input.store.getRevocation(input.issuerId, serialHex)) !== undefined) {
    throw new PkiError('ERR_ALREADY_REVOKED', `certificate ${serialHex} is already revoked`, { field: 'serialHex' });
  }
  return {
    type: 'Revoked',
    issuerId: input.issuerId,
    serialHex,
    reason: input.reason,
    // CRLs carry whole seconds; recording the same value keeps event and CRL in agreement.
    revokedAt: truncateToSeconds(new Date(input.nowMs)).getTime(),
    requestedBy: input.requestedBy,
    notAfter: cert.notAfter,
  };
}

/** Bounds on how far ahead a CRL promises its successor (RFC 5280 §5.1.2.5 nextUpdate). */
export const CRL_NEXT_UPDATE_SECONDS_MIN = 60;
export const CRL_NEXT_UPDATE_SECONDS_MAX = 31 * 24 * 3600;

export interface BuildCrlEventInput {
  readonly issuer: CaHandle;
  readonly store: PkiStateQueries;
  readonly nowMs: number;
  readonly nextUpdateSeconds: number;
}

export interface BuiltCrlEvent {
  readonly event: CrlPublishedEvent;
  readonly crlDer: Uint8Array;
  readonly crlPem: string;
}

/** Signs the issuer's next CRL and returns the `CrlPublished` event that carries it. */
export async function buildCrlEvent(input: BuildCrlEventInput): Promise<BuiltCrlEvent> {
  checkNow(input.nowMs);
  const seconds = input.nextUpdateSeconds;
  if (!Number.isSafeInteger(seconds) || seconds < CRL_NEXT_UPDATE_SECONDS_MIN || seconds > CRL_NEXT_UPDATE_SECONDS_MAX) {
    throw new PkiError('ERR_INPUT_INVALID', `nextUpdateSeconds must be ${CRL_NEXT_UPDATE_SECONDS_MIN}..${CRL_NEXT_UPDATE_SECONDS_MAX}`, {
      field: 'nextUpdateSeconds',
    });
  }
  const { issuerId } = input.issuer;
  if ((await input.store.getCa(issuerId)) === undefined) {
    throw new PkiError('ERR_ISSUER_UNKNOWN', `issuer ${issuerId} is unknown`, { field: 'issuer' });
  }
  const crlNumber = await input.store.nextCrlNumber(issuerId);
  const revoked: RevokedEntry[] = (await input.store.listRevoked(issuerId)).map((r) => ({
    serialHex: r.serialHex,
    revokedAt: new Date(r.revokedAt),
    reason: r.reason,
  }));
  const thisUpdate = truncateToSeconds(new Date(input.nowMs));
  const nextUpdate = new Date(thisUpdate.getTime() + seconds * 1000);
  const crl = await buildCrl({ issuer: input.issuer.cert, signer: input.issuer.signer, crlNumber, thisUpdate, nextUpdate, revoked });
  const event: CrlPublishedEvent = {
    type: 'CrlPublished',
    issuerId,
    crlNumber,
    crlDer: crl.der,
    thisUpdate: thisUpdate.getTime(),
    nextUpdate: nextUpdate.getTime(),
  };
  return { event, crlDer: crl.der, crlPem: crl.pem };
}
