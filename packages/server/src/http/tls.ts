// Reading the verified peer (client) certificate of an HTTPS request. A certificate counts only
// when the TLS layer verified its chain against our CA (`socket.authorized`); an unverified one
// (requestCert without rejectUnauthorized) is never returned.
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';

export function verifiedPeerCertificate(req: IncomingMessage): X509Certificate | null {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return null;
  return socket.getPeerX509Certificate() ?? null;
}

/**
 * Why a client certificate was presented but not accepted, when the only fault is its age
 * (OpenSSL's X509_V_ERR_CERT_HAS_EXPIRED): the route can then say "expired" instead of "no
 * certificate". Any other verification failure stays a plain refusal.
 */
export function expiredPeerCertificate(req: IncomingMessage): boolean {
  const socket = req.socket;
  return socket instanceof TLSSocket && failedOnlyOnExpiry(socket);
}

/**
 * Whether a TLS socket's peer certificate failed verification and the failure OpenSSL reports is
 * X509_V_ERR_CERT_HAS_EXPIRED (of the certificate or a CA above it). The chain is otherwise not
 * vouched for: callers admit such a peer only on an exact pin (docs/architecture.md §21).
 */
export function failedOnlyOnExpiry(socket: TLSSocket): boolean {
  if (socket.authorized) return false;
  const error = socket.authorizationError as unknown;
  const code = typeof error === 'string' ? error : (error as { code?: string } | null)?.code;
  return code === 'CERT_HAS_EXPIRED';
}

/**
 * The client certificate of an HTTPS request that failed verification only because it expired
 * (`failedOnlyOnExpiry`), for a route declared `acceptExpiredClientCert`; null otherwise.
 */
export function expiredClientCertificate(req: IncomingMessage): X509Certificate | null {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket) || !failedOnlyOnExpiry(socket)) return null;
  return socket.getPeerX509Certificate() ?? null;
}

/** The URIs among a certificate's subjectAltNames (RFC 5280 §4.2.1.6 uniformResourceIdentifier). */
export function sanUris(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san === undefined) return [];
  // Node renders the SAN as `URI:urn:…, DNS:…`; values with ',' or ':' in odd places are
  // JSON-quoted by Node ≥ 17 (CVE-2021-44532), which we then parse.
  const out: string[] = [];
  for (const part of splitSan(san)) {
    if (part.startsWith('URI:')) out.push(unquote(part.slice(4)));
  }
  return out;
}

function splitSan(san: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < san.length; i++) {
    const c = san[i] as string;
    if (c === '"' && san[i - 1] !== '\\') quoted = !quoted;
    if (c === ',' && !quoted) {
      parts.push(cur.trim());
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur.trim().length > 0) parts.push(cur.trim());
  return parts;
}

function unquote(v: string): string {
  if (v.startsWith('"') && v.endsWith('"')) {
    try {
      return JSON.parse(v) as string;
    } catch {
      return v;
    }
  }
  return v;
}
