// OCSP answers/s and p99 latency on a filled state (bench/scale.bench.ts): `clients` concurrent
// clients each send nonce-carrying requests (RFC 8954, so no answer is reused from the
// responder's cache: every one is parsed, looked up on disk and signed) for random serials,
// issued, revoked or never issued. Each answer is the node's own responder
// (node/ocsp/ocsp-responder.ts `answer`): parse (ca/ocsp-request.ts), the issuer by its hashes
// (ocsp-issuers.ts), revocation then certificate read from the state (ocsp-status.ts), signed by
// the AZ's delegated responder key under the node ICA's responder certificate (ocsp-signers.ts,
// ca/ocsp-response.ts). Left out: HTTP, the peer hop for another AZ's certificates, and the Raft
// ReadIndex of a linearizable read (one node here: the read index is the applied index). The
// requests are built before the clock starts, as a load generator on another machine would.
import { randomBytes } from 'node:crypto';
import { issuerHashes } from '../packages/pki-core/src/ca/ocsp-cert-id.ts';
import { explicit, NULL_DER, octetString, oid, sequence, unsignedInteger } from '../packages/pki-core/src/ca/der.ts';
import { OwnCa } from '../packages/pki-core/src/node/ca/own-ca.ts';
import { OwnKeys } from '../packages/pki-core/src/node/core/context.ts';
import { ReadView } from '../packages/pki-core/src/node/core/read-view.ts';
import type { KekRing } from '../packages/pki-core/src/node/kek/kek-ring.ts';
import { OcspIssuers } from '../packages/pki-core/src/node/ocsp/ocsp-issuers.ts';
import { OcspResponder } from '../packages/pki-core/src/node/ocsp/ocsp-responder.ts';
import { OcspSigners } from '../packages/pki-core/src/node/ocsp/ocsp-signers.ts';
import { OcspStatusLookup } from '../packages/pki-core/src/node/ocsp/ocsp-status.ts';
import type { PeerClient } from '../packages/pki-core/src/node/peer/protocol.ts';
import type { PkiStateStore } from '../packages/pki-core/src/state/index.ts';

const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';
const VALIDITY_SECONDS = 3600;

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
  /** The node and AZ answering; the state holds the AZ's responder key, sealed under `kek`, and the issuer's responder certificate. */
  nodeId: string;
  az: string;
  kek: KekRing;
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

/** A peer client for a bench that has no peers: every certificate asked about is of this AZ. */
const NO_PEERS: PeerClient = {
  call: (nodeId) => Promise.reject(new Error(`bench: no peer ${nodeId} (every certificate is of this AZ)`)),
};

/** The node's responder over the filled state, wired as node/ocsp/index.ts wires it. */
function responderOf(t: OcspTarget, nowMs: number): OcspResponder {
  const state = () => t.store;
  const ctx = {
    nodeId: t.nodeId,
    az: t.az,
    kek: t.kek,
    nowMs: () => nowMs,
    ownKeys: new OwnKeys(),
    peers: NO_PEERS,
    onError: (e: unknown) => {
      throw e;
    },
  };
  const reads = new ReadView(t.az, state, async () => {});
  const lookup = new OcspStatusLookup(ctx, reads, () => new Map());
  const signers = new OcspSigners(ctx, state, new OwnCa(ctx, state));
  return new OcspResponder(ctx, new OcspIssuers(state), lookup, signers, { validitySeconds: VALIDITY_SECONDS, cachedAnswersMax: 1 });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

export async function measureOcsp(t: OcspTarget, clients: number, answersPerClient: number, nowMs: number): Promise<OcspFigures> {
  const responder = responderOf(t, nowMs);
  const hashes = issuerHashes(t.issuerCertDer, 'sha256');
  const outcomes = { good: 0, revoked: 0, unknown: 0 };
  const latencies: number[] = [];
  const requests = Array.from({ length: clients }, () => Array.from({ length: answersPerClient }, () => requestDer(hashes, t.randomSerialHex())));
  const client = async (mine: readonly Uint8Array[]): Promise<void> => {
    for (const der of mine) {
      const started = performance.now();
      const answer = await responder.answer(der);
      latencies.push(performance.now() - started);
      if (answer.outcome !== 'good' && answer.outcome !== 'revoked' && answer.outcome !== 'unknown') throw new Error(`bench: the responder answered ${answer.outcome}`);
      outcomes[answer.outcome]++;
    }
  };
  const started = performance.now();
  await Promise.all(requests.map(client));
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
