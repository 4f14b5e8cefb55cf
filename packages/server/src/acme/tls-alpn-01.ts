// RFC 8737 tls-alpn-01: a TLS handshake with ALPN `acme-tls/1` and SNI the identifier (RFC 8738
// §6: the reverse name for an IP); the self-signed certificate must carry exactly that one
// identifier and a critical id-pe-acmeIdentifier extension holding SHA-256(key authorization).
import { createHash, X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { readCertificateFields, type AcmeIdentifier, type AcmeProblemData } from '@adrestia/pki-core';

/** RFC 8737 §6.1: id-pe-acmeIdentifier. */
const OID_ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31';
const ALPN = 'acme-tls/1';

/** RFC 8738 §6: the in-addr.arpa / ip6.arpa name of an IP identifier. */
function reverseName(ip: string): string {
  if (!ip.includes(':')) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const groups = ip.split('::');
  const head = groups[0] === '' ? [] : groups[0]!.split(':');
  const tail = groups.length > 1 && groups[1] !== '' ? groups[1]!.split(':') : [];
  const full = [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail].map((g: string) => g.padStart(4, '0')).join('');
  return `${full.split('').reverse().join('.')}.ip6.arpa`;
}

export function validateTlsAlpn01(identifier: AcmeIdentifier, address: string, port: number, keyAuthorization: string, timeoutMs: number): Promise<AcmeProblemData | undefined> {
  const servername = identifier.type === 'ip' ? reverseName(identifier.value) : identifier.value;
  const what = `TLS with ALPN ${ALPN} and SNI ${servername} at ${address}:${port}`;
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, servername, ALPNProtocols: [ALPN], rejectUnauthorized: false, timeout: timeoutMs });
    const done = (p: AcmeProblemData | undefined): void => {
      socket.destroy();
      resolve(p);
    };
    socket.on('timeout', () => done({ type: 'connection', detail: `${what}: no handshake within ${timeoutMs} ms` }));
    socket.on('error', (e: Error) => done({ type: 'tls', detail: `${what} failed: ${e.message}` }));
    socket.on('secureConnect', () => {
      if (socket.alpnProtocol !== ALPN) return done({ type: 'tls', detail: `${what}: the server did not select ALPN ${ALPN} (got ${JSON.stringify(socket.alpnProtocol)})` });
      const peer = socket.getPeerX509Certificate();
      if (peer === undefined) return done({ type: 'tls', detail: `${what}: the server sent no certificate` });
      done(checkCertificate(peer, identifier, keyAuthorization, what));
    });
  });
}

function checkCertificate(cert: X509Certificate, identifier: AcmeIdentifier, keyAuthorization: string, what: string): AcmeProblemData | undefined {
  const want = identifier.type === 'ip' ? `IP Address:${identifier.value}` : `DNS:${identifier.value}`;
  const sans = (cert.subjectAltName ?? '').split(', ').filter((s) => s !== '');
  if (sans.length !== 1 || sans[0]!.toLowerCase() !== want.toLowerCase()) {
    return { type: 'unauthorized', detail: `${what}: the certificate names ${JSON.stringify(sans)}; RFC 8737 §3 asks for exactly ${want}` };
  }
  let ext;
  try {
    ext = readCertificateFields(new Uint8Array(cert.raw)).extensions.get(OID_ACME_IDENTIFIER);
  } catch (e) {
    return { type: 'tls', detail: `${what}: the certificate cannot be read: ${(e as Error).message}` };
  }
  if (ext === undefined || !ext.critical) return { type: 'unauthorized', detail: `${what}: the certificate lacks a critical id-pe-acmeIdentifier extension (RFC 8737 §3)` };
  const digest = createHash('sha256').update(keyAuthorization).digest();
  const expected = Buffer.concat([Buffer.from([0x04, 0x20]), digest]);
  if (!Buffer.from(ext.value).equals(expected)) return { type: 'incorrectResponse', detail: `${what}: id-pe-acmeIdentifier holds ${Buffer.from(ext.value).toString('hex')}; expected the SHA-256 of the key authorization (${digest.toString('hex')})` };
  return undefined;
}
