// The server side of Phase II registration (docs/spec.md §3.2, docs/architecture.md §5.4, §5.5), as
// pure functions over the replicated state and the proofs of cluster/psk-proof.ts and
// cluster/join-token.ts:
//
//  1. plain HTTP: `caBundleResponse` serves the CA bundle with an HMAC proof under the PSK, so the
//     node can trust the bundle without the PSK ever crossing the wire;
//  2. HTTPS: `verifyRegistrationRequest` authenticates the request (PSK proof, single-use nonce;
//     or a single-use join token) and checks it against the state, returning what the AZ local
//     leader passes to `signNodeRegistration` — and, for a token, the `JoinTokenUsed` event that
//     spends it through the log (single use is decided there, apply-cluster.ts).
import { parseCsr } from '../../ca/csr.ts';
import { toPem } from '../../ca/pem.ts';
import { verifyJoinToken } from '../../cluster/join-token.ts';
import { computeCaBundleProof, parseRegistrationProof, verifyRegistration, type NonceReplayGuard } from '../../cluster/psk-proof.ts';
import { PkiError } from '../../errors.ts';
import type { JoinTokenUsedEvent, NodeAddresses } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord, CertificateRecord } from '../../state/records.ts';
import { checkNow } from '../ca/ca-common.ts';
import { parseRegistrationBody, type CaBundleResponseBody, type ParsedRegistrationBody } from './registration-body.ts';

/** `Authorization` schemes: the PSK proof (psk-proof.ts) or a join token (RFC 6750 bearer syntax). */
const PSK_AUTH_SCHEME = 'Adrestia-PSK';
export const TOKEN_AUTH_SCHEME = 'Bearer';

async function requireClusterId(store: PkiStateQueries): Promise<string> {
  const cluster = await store.cluster();
  if (cluster === undefined) throw new PkiError('ERR_NOT_FOUND', 'the cluster has not been founded yet');
  return cluster.clusterId;
}

/**
 * The CA bundle: the root, then the cross certificates of root rollovers (node/ca/root-rollover.ts;
 * the ones the root signed first, so each one's issuer comes before it), then every AZ ICA that may
 * still sign (not revoked, not expired at `nowMs`), ordered by AZ name and id so every replica
 * serves the same bytes.
 */
async function caBundlePem(store: PkiStateQueries, nowMs: number): Promise<string> {
  const cluster = await store.cluster();
  if (cluster === undefined) throw new PkiError('ERR_NOT_FOUND', 'the cluster has not been founded yet');
  const root = await store.getCa(cluster.rootIssuerId);
  if (root === undefined) throw new Error(`assertion failed: the root CA ${cluster.rootIssuerId} is not in the state`);
  const crossPem = issuerFirst((await store.crossCertificates()).filter((c) => c.notAfter > nowMs), root.issuerId)
    .map((c) => toPem(c.certDer))
    .join('');
  const azIcas = (await store.cas())
    .filter((ca) => ca.role === 'az' && ca.revokedAt === null && ca.notAfter > nowMs)
    .sort((a, b) => compare(a.az ?? '', b.az ?? '') || compare(a.issuerId, b.issuerId));
  return toPem(root.certDer) + crossPem + azIcas.map((ca) => toPem(ca.certDer)).join('');
}

/** Cross certificates in an order where each one's signer is the root or certified by one before it. */
function issuerFirst(cross: readonly CertificateRecord[], rootIssuerId: string): CertificateRecord[] {
  const reached = new Set([rootIssuerId]);
  const ordered: CertificateRecord[] = [];
  let left = [...cross];
  for (let progress = true; progress && left.length > 0; ) {
    const next = left.filter((c) => reached.has(c.issuerId));
    progress = next.length > 0;
    for (const c of next) if (c.kind === 'ca') reached.add(c.caIssuerId);
    ordered.push(...next);
    left = left.filter((c) => !next.includes(c));
  }
  return ordered;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface CaBundleResponseInput {
  readonly store: PkiStateQueries;
  /** Absent on a node that joined with a join token only: the bundle then carries no proof. */
  readonly psk: Uint8Array | undefined;
  /** The node's fresh nonce from its request. */
  readonly nonce: Uint8Array;
  /** Drawn by the server for this answer (NONCE_BYTES_MIN..MAX bytes); the node echoes it when registering. */
  readonly serverNonce: Uint8Array;
  readonly nowMs: number;
}

/** The answer to `GET /api/v1/ca` with a client nonce: the bundle and its PSK proof. */
export async function caBundleResponse(input: CaBundleResponseInput): Promise<CaBundleResponseBody> {
  checkNow(input.nowMs);
  const clusterId = await requireClusterId(input.store);
  const bundlePem = await caBundlePem(input.store, input.nowMs);
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  // A node started with a join token holds no PSK: it serves the bundle without a proof, which
  // token-holding newcomers do not need (they pin the root by the token's rootSha256) and
  // PSK-holding ones refuse (they retry until a node with the PSK answers).
  if (input.psk === undefined) return { clusterId, bundlePem, serverNonce: b64(input.serverNonce), proof: '' };
  const proof = computeCaBundleProof({
    psk: input.psk,
    clusterId,
    clientNonce: input.nonce,
    serverNonce: input.serverNonce,
    bundle: new TextEncoder().encode(bundlePem),
  });
  return { clusterId, bundlePem, serverNonce: b64(input.serverNonce), proof: b64(proof) };
}

export interface VerifyRegistrationInput {
  /** The exact request body bytes (the PSK proof signs their hash). */
  readonly body: Uint8Array;
  /** The `Authorization` header. */
  readonly proofHeader: string;
  /** Accept PSK-proof registrations with this key. */
  readonly psk?: Uint8Array;
  /** Accept join-token registrations signed with this HS256 key. */
  readonly joinTokenKey?: Uint8Array;
  readonly store: PkiStateQueries;
  readonly nowMs: number;
  /** Single use of server nonces inside the clock-skew window (PSK proofs). */
  readonly replayGuard: NonceReplayGuard;
  /** Join tokens: tolerated skew between the minting and this clock (default: join-token.ts's). */
  readonly maxClockSkewSeconds?: number;
}

export interface AcceptedRegistration {
  readonly nodeId: string;
  readonly az: string;
  readonly addresses: NodeAddresses;
  readonly icaCsrDer: Uint8Array;
  readonly tlsCsrDer: Uint8Array;
  readonly auth: 'psk' | 'joinToken';
  /** For a join token: propose this before the registration events; its rejection means the token was spent. */
  readonly joinTokenUsed?: JoinTokenUsedEvent;
}

/**
 * Authenticates and checks a registration request. Typed refusals: ERR_AUTH_REQUIRED (no usable
 * credential), ERR_AUTH_PSK_PROOF (bad proof, replayed nonce, skewed clock, body not the one
 * signed), ERR_AUTH_TOKEN_INVALID / _EXPIRED / _USED, ERR_WRONG_AZ (token for another AZ),
 * ERR_AZ_UNKNOWN, ERR_NODE_REVOKED (the node id was revoked or removed: it never comes back),
 * ERR_ALREADY_EXISTS (registered and active), ERR_INPUT_INVALID and ERR_CSR_* for the body.
 */
export async function verifyRegistrationRequest(input: VerifyRegistrationInput): Promise<AcceptedRegistration> {
  checkNow(input.nowMs);
  const clusterId = await requireClusterId(input.store);
  const header = input.proofHeader.trim();
  let parsed: ParsedRegistrationBody;
  let joinTokenUsed: JoinTokenUsedEvent | undefined;
  if (header.startsWith(`${PSK_AUTH_SCHEME} `) && input.psk !== undefined) {
    parsed = verifyPsk(input, input.psk, header, clusterId);
  } else if (header.startsWith(`${TOKEN_AUTH_SCHEME} `) && input.joinTokenKey !== undefined) {
    parsed = parseRegistrationBody(input.body);
    joinTokenUsed = await verifyToken(input, input.joinTokenKey, header.slice(TOKEN_AUTH_SCHEME.length + 1).trim(), clusterId, parsed);
  } else {
    throw new PkiError('ERR_AUTH_REQUIRED', 'registration needs an Adrestia-PSK proof or a join token', { field: 'authorization' });
  }
  const { body } = parsed;
  // The credential is already bound to this cluster; a body naming another is malformed.
  if (body.clusterId !== clusterId) throw new PkiError('ERR_INPUT_INVALID', 'registration body names another cluster', { field: 'body.clusterId' });
  if ((await input.store.getAz(body.az)) === undefined) throw new PkiError('ERR_AZ_UNKNOWN', `AZ ${body.az} is unknown`, { field: 'body.az' });
  await checkNodeMayRegister(input.store, body.nodeId);
  // Both CSRs must be well-formed and self-signed before anyone spends a token or signs.
  parseCsr(parsed.icaCsrDer);
  parseCsr(parsed.tlsCsrDer);
  return {
    nodeId: body.nodeId,
    az: body.az,
    addresses: { api: body.addresses.api, raft: body.addresses.raft },
    icaCsrDer: parsed.icaCsrDer,
    tlsCsrDer: parsed.tlsCsrDer,
    auth: joinTokenUsed === undefined ? 'psk' : 'joinToken',
    ...(joinTokenUsed === undefined ? {} : { joinTokenUsed }),
  };
}

function verifyPsk(input: VerifyRegistrationInput, psk: Uint8Array, header: string, clusterId: string): ParsedRegistrationBody {
  const proof = parseRegistrationProof(header);
  // Verifies the MAC over the claims and the body hash, then consumes the server nonce.
  const claims = verifyRegistration(psk, proof, {
    clusterId,
    body: input.body,
    nowSeconds: Math.floor(input.nowMs / 1000),
    replayGuard: input.replayGuard,
  });
  const parsed = parseRegistrationBody(input.body);
  if (parsed.body.nodeId !== claims.nodeId || parsed.body.az !== claims.az) {
    throw new PkiError('ERR_AUTH_PSK_PROOF', 'the body names another node or AZ than the proof', { field: 'body' });
  }
  return parsed;
}

async function verifyToken(
  input: VerifyRegistrationInput,
  key: Uint8Array,
  token: string,
  clusterId: string,
  parsed: ParsedRegistrationBody,
): Promise<JoinTokenUsedEvent> {
  const { nodeId, az } = parsed.body;
  const claims = await verifyJoinToken(token, key, {
    nowSeconds: Math.floor(input.nowMs / 1000),
    az,
    clusterId,
    ...(input.maxClockSkewSeconds === undefined ? {} : { maxClockSkewSeconds: input.maxClockSkewSeconds }),
  });
  if (claims.sub !== undefined && claims.sub !== nodeId) {
    throw new PkiError('ERR_AUTH_TOKEN_INVALID', 'join token was minted for another node', { field: 'nodeId' });
  }
  const record = await input.store.getJoinToken(claims.jti);
  if (record?.usedAt !== null && record?.usedAt !== undefined) throw new PkiError('ERR_AUTH_TOKEN_USED', 'join token has already been used');
  // A token issued through the log keeps the expiry recorded there (apply-cluster.ts).
  if (record !== undefined && input.nowMs >= record.expiresAt) throw new PkiError('ERR_AUTH_TOKEN_EXPIRED', 'join token has expired');
  return { type: 'JoinTokenUsed', tokenId: claims.jti, az, nodeId, expiresAt: claims.exp * 1000, at: input.nowMs };
}

/**
 * A node id registers once. One whose node CA was revoked, or that was removed (its node CA
 * remains in the state without a node record), is refused for good: its identity was withdrawn.
 */
async function checkNodeMayRegister(store: PkiStateQueries, nodeId: string): Promise<void> {
  const node = await store.getNode(nodeId);
  const cas = (await store.cas()).filter((ca: CaRecord) => ca.role === 'node' && ca.nodeId === nodeId);
  const revoked = cas.some((ca) => ca.revokedAt !== null);
  if (revoked || (node === undefined && cas.length > 0)) {
    throw new PkiError('ERR_NODE_REVOKED', `node ${nodeId} was revoked or removed and may not register again`, { field: 'body.nodeId' });
  }
  if (node !== undefined) throw new PkiError('ERR_ALREADY_EXISTS', `node ${nodeId} is already registered`, { field: 'body.nodeId' });
}
