// RFC 9773 ACME Renewal Information: the certificate identifier `<AKI>.<serial>` (§4.1: the
// base64url of the AKI keyIdentifier and of the serial's DER INTEGER content octets) and the
// window in which the client should renew (§4.2). A CA's id in the state is the hex of its key
// identifier (node/ca/ca-common.ts issuerIdOf), so the AKI names the issuer without a lookup.
import { isPkiError } from '../../errors.ts';
import { normalizeSerialHex } from '../../ca/serial.ts';
import { AcmeProblem } from './acme-problem.ts';

export interface AcmeCertificateId {
  issuerId: string;
  serialHex: string;
}

export interface RenewalWindow {
  startMs: number;
  endMs: number;
}

const BASE64URL = /^[A-Za-z0-9_-]{1,128}$/;

/** `<AKI>.<serial>` as the state keys a certificate; `malformed` naming the part otherwise. */
export function parseCertificateId(certId: string, field: string): AcmeCertificateId {
  const parts = certId.split('.');
  if (parts.length !== 2 || !BASE64URL.test(parts[0]!) || !BASE64URL.test(parts[1]!)) {
    throw new AcmeProblem('malformed', `${field}: ${JSON.stringify(certId)} is not a certificate identifier <base64url AKI>.<base64url serial> (RFC 9773 §4.1)`);
  }
  const issuerId = Buffer.from(parts[0]!, 'base64url').toString('hex');
  try {
    return { issuerId, serialHex: normalizeSerialHex(Buffer.from(parts[1]!, 'base64url').toString('hex')) };
  } catch (e) {
    if (isPkiError(e, 'ERR_SERIAL_INVALID')) throw new AcmeProblem('malformed', `${field}: the serial part ${e.message}`);
    throw e;
  }
}

/**
 * RFC 9773 §4.2: a window inside the last third of the lifetime (from 2/3 to 5/6 of it, so a
 * client renewing at its end still has a sixth of the lifetime left); for a revoked certificate
 * a window that ends now, which asks the client to renew at once.
 */
export function suggestedWindow(notBeforeMs: number, notAfterMs: number, revokedAtMs: number | null, nowMs: number): RenewalWindow {
  if (revokedAtMs !== null) return { startMs: Math.min(revokedAtMs, nowMs), endMs: nowMs };
  const lifetimeMs = notAfterMs - notBeforeMs;
  return { startMs: notBeforeMs + Math.floor((lifetimeMs * 2) / 3), endMs: notBeforeMs + Math.floor((lifetimeMs * 5) / 6) };
}
