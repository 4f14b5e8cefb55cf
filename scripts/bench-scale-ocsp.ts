// OCSP answers/s and p99 latency on a filled state (bench/scale.bench.ts): `clients` concurrent
// clients each send nonce-carrying requests (RFC 8954, so no answer is reused from the
// responder's cache: every one is parsed, looked up on disk and signed) for random serials,
// issued, revoked or never issued. Each answer takes the steps of node/ocsp/ocsp-responder.ts
// `answerParsed` for a certificate of this AZ: parse (ca/ocsp-request.ts), match the issuer
// hashes, read revocation then certificate from the state, sign with a delegated responder key
// (ca/ocsp-response.ts). HTTP and the peer hop of another AZ's certificates are left out.
import { randomBytes } from 'node:crypto';
import { issuerHashes } from '../packages/pki-core/src/ca/ocsp-cert-id.ts';
import { parseOcspRequest } from '../packages/pki-core/src/ca/ocsp-request.ts';
import { buildOcspResponse, type OcspCertStatus } from '../packages/pki-core/src/ca/ocsp-response.ts';
import { explicit, NULL_DER, octetString, oid, sequence, unsignedInteger } from '../packages/pki-core/src/ca/der.ts';
import { generateCaKeyPair } from '../packages/pki-core/src/ca/keys.ts';
import { KeyObjectSigner } from '../packages/pki-core/src/ca/signer.ts';
import type { PkiStateStore } from '../packages/pki-core/src/state/index.ts';

const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';
const VALIDITY_MS = 3600 * 1000;

export interface OcspFigures {
  ocspClients: number;
  ocspAnswers: number;
  ocspPerSecond: number;
  ocspP50Ms: number;
  ocspP99Ms: number;
  /** Answers by status: the mix must hold all three, or the figure measures one path only. */
  ocspOutcomes: { good: number; revoked: number; unknown: number };
}

export interface OcspTarget {
  store: PkiStateStore;
  issuerId: string;
  issuerCertDer: Uint8Array;
  /** The serial of a random certificate, of which some are revoked and some never issued. */
  randomSerialHex: () => string;
}

function requestDer(issuer: { nameHashHex: string; keyHashHex: string }, serialHex: string): Uint8Array {
  const certId = sequence(
    sequence(oid(OID_SHA256), NULL_DER),
    octetString(Buffer.from(issuer.nameHashHex, 'hex')),
    octetString(Buffer.from(issuer.keyHashHex, 'hex')),
    unsignedInteger(Buffer.from(serialHex, 'hex')),
  );
  const nonce = sequence(oid(OID_OCSP_NONCE), octetString(octetString(randomBytes(16))));
  return sequence(sequence(sequence(sequence(certId)), explicit(2, sequence(nonce))));
}

async function statusOf(t: OcspTarget, serialHex: string): Promise<OcspCertStatus> {
  const revoked = await t.store.getRevocation(t.issuerId, serialHex);
  if (revoked !== undefined) return { kind: 'revoked', revokedAt: new Date(revoked.revokedAt), reason: revoked.reason };
  return (await t.store.getCertificate(t.issuerId, serialHex)) === undefined ? { kind: 'unknown' } : { kind: 'good' };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export async function measureOcsp(t: OcspTarget, clients: number, answersPerClient: number, nowMs: number): Promise<OcspFigures> {
  const responderKey = await generateCaKeyPair('ecdsa-p256');
  const signer = new KeyObjectSigner(responderKey.privateKey);
  const hashes = issuerHashes(t.issuerCertDer, 'sha256');
  const outcomes = { good: 0, revoked: 0, unknown: 0 };
  const latencies: number[] = [];
  const answer = async (der: Uint8Array): Promise<void> => {
    const request = parseOcspRequest(der);
    const id = request.certIds[0]!;
    if (id.issuerNameHashHex !== hashes.nameHashHex || id.issuerKeyHashHex !== hashes.keyHashHex || id.serialHex === null) throw new Error('bench: request does not match the issuer');
    const status = await statusOf(t, id.serialHex);
    const thisUpdate = new Date(Math.floor(nowMs / 1000) * 1000);
    const response = await buildOcspResponse({
      signer,
      producedAt: thisUpdate,
      answers: [{ certIdDer: id.der, status, thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + VALIDITY_MS) }],
      ...(request.nonceExtnValue === undefined ? {} : { nonceExtnValue: request.nonceExtnValue }),
    });
    if (response.byteLength === 0) throw new Error('bench: empty OCSP response');
    outcomes[status.kind]++;
  };
  const client = async (): Promise<void> => {
    for (let i = 0; i < answersPerClient; i++) {
      const der = requestDer(hashes, t.randomSerialHex());
      const started = performance.now();
      await answer(der);
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const elapsedSeconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    ocspClients: clients,
    ocspAnswers: latencies.length,
    ocspPerSecond: latencies.length / elapsedSeconds,
    ocspP50Ms: percentile(latencies, 0.5),
    ocspP99Ms: percentile(latencies, 0.99),
    ocspOutcomes: outcomes,
  };
}
