// The registering node's side of Phase II (docs/spec.md §3.2): check the CA bundle fetched over
// plain HTTP against its PSK proof and its own structure, build the authenticated registration
// request, and check the certificates that come back carry the node's own keys.
import { X509Certificate } from 'node:crypto';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { bytesEqual } from '../../ca/der.ts';
import { csrMaxBytes } from '../../ca/csr.ts';
import { pemBlocks } from '../../ca/pem.ts';
import { sha256, signRegistration, verifyCaBundleProof, formatRegistrationProof } from '../../cluster/psk-proof.ts';
import { PkiError } from '../../errors.ts';
import type { NodeAddresses } from '../../state/events.ts';
import { checkNow } from '../ca/ca-common.ts';
import type { NodeKeys } from '../ca/ca-node-keys.ts';
import { base64Der, encodeRegistrationBody, REGISTRATION_BODY_VERSION, type CaBundleResponseBody, type RegistrationResponseBody } from './registration-body.ts';
import { TOKEN_AUTH_SCHEME } from './registration.ts';

/** Root, AZ ICAs: a bundle with more is not ours (CLUSTER_MAP_AZS_MAX is far below). */
const CA_BUNDLE_CERTIFICATES_MAX = 1024;
const CERT_BYTES_MAX = 64 * 1024;

export interface VerifiedCaBundle {
  readonly clusterId: string;
  readonly rootDer: Uint8Array;
  /** The AZ ICAs (and after a root rollover the cross certificates), each checked to chain to the root. */
  readonly azIcaDers: readonly Uint8Array[];
  readonly bundlePem: string;
  /** Bytes, to echo in the registration proof. */
  readonly serverNonce: Uint8Array;
}

function bundleError(message: string): PkiError {
  return new PkiError('ERR_CERT_MALFORMED', `CA bundle: ${message}`, { field: 'bundlePem' });
}

/**
 * Trusts a CA bundle only if its proof verifies under the PSK for the nonce this node sent
 * (ERR_AUTH_PSK_PROOF otherwise) and it is a self-signed CA root followed by CA certificates the
 * root signed. `expectedClusterId`, when the node already knows it, must match.
 */
export function verifyCaBundle(input: { response: CaBundleResponseBody; psk: Uint8Array; clientNonce: Uint8Array; expectedClusterId?: string }): VerifiedCaBundle {
  const { response } = input;
  if (typeof response.bundlePem !== 'string' || typeof response.clusterId !== 'string') throw bundleError('malformed response');
  if (input.expectedClusterId !== undefined && response.clusterId !== input.expectedClusterId) {
    throw new PkiError('ERR_AUTH_PSK_PROOF', `CA bundle is for cluster ${response.clusterId}, not ${input.expectedClusterId}`, { field: 'clusterId' });
  }
  const serverNonce = new Uint8Array(Buffer.from(String(response.serverNonce), 'base64url'));
  verifyCaBundleProof({
    psk: input.psk,
    clusterId: response.clusterId,
    clientNonce: input.clientNonce,
    serverNonce,
    bundle: new TextEncoder().encode(response.bundlePem),
    proof: new Uint8Array(Buffer.from(String(response.proof), 'base64url')),
  });
  // Authenticated from here on; still check the structure before trusting it as a root.
  return bundleOf(response, serverNonce);
}

/**
 * Trusts a CA bundle fetched by a node that holds a join token and no PSK: the token names the
 * SHA-256 of the cluster root's certificate (`rootSha256`, minted by the cluster), and the bundle's
 * root must be exactly that one (ERR_AUTH_TOKEN_INVALID otherwise), with the structure checked as
 * for a PSK-proven bundle. The token came over the operator's channel, so its claims need no
 * signature check here; the cluster checks the signature when the token is presented.
 */
export function verifyCaBundlePinned(input: { response: CaBundleResponseBody; rootSha256: string; expectedClusterId: string }): VerifiedCaBundle {
  const { response } = input;
  if (typeof response.bundlePem !== 'string' || typeof response.clusterId !== 'string') throw bundleError('malformed response');
  if (response.clusterId !== input.expectedClusterId) {
    throw new PkiError('ERR_AUTH_TOKEN_INVALID', `CA bundle is for cluster ${response.clusterId}, not ${input.expectedClusterId} (the join token's)`, { field: 'clusterId' });
  }
  const bundle = bundleOf(response, new Uint8Array(Buffer.from(String(response.serverNonce), 'base64url')));
  if (Buffer.from(sha256(bundle.rootDer)).toString('hex') !== input.rootSha256.toLowerCase()) {
    throw new PkiError('ERR_AUTH_TOKEN_INVALID', 'the cluster root served is not the one the join token names', { field: 'rootSha256' });
  }
  return bundle;
}

function bundleOf(response: CaBundleResponseBody, serverNonce: Uint8Array): VerifiedCaBundle {
  const ders = pemBlocks(response.bundlePem).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der);
  if (ders.length === 0 || ders.length > CA_BUNDLE_CERTIFICATES_MAX) throw bundleError(`expected 1..${CA_BUNDLE_CERTIFICATES_MAX} certificates`);
  const [rootDer, ...azIcaDers] = ders as [Uint8Array, ...Uint8Array[]];
  const root = caCertificate(rootDer);
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) throw bundleError('the first certificate is not a self-signed root');
  // After a root rollover the bundle also holds the cross certificates (registration.ts
  // caBundlePem): each certificate must be signed by the root or by one before it.
  const trusted = [root];
  for (const der of azIcaDers) {
    const ica = caCertificate(der);
    if (!trusted.some((issuer) => ica.checkIssued(issuer) && ica.verify(issuer.publicKey))) throw bundleError('an AZ ICA is not signed by the root');
    trusted.push(ica);
  }
  return { clusterId: response.clusterId, rootDer, azIcaDers, bundlePem: response.bundlePem, serverNonce };
}

function caCertificate(der: Uint8Array): X509Certificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(der));
  } catch (cause) {
    throw new PkiError('ERR_CERT_MALFORMED', 'CA bundle: a certificate does not parse', { field: 'bundlePem', cause });
  }
  if (!cert.ca) throw bundleError(`${cert.subject} is not a CA certificate`);
  return cert;
}

export interface BuildRegistrationInput {
  readonly clusterId: string;
  readonly nodeId: string;
  readonly az: string;
  readonly addresses: NodeAddresses;
  readonly icaCsrDer: Uint8Array;
  readonly tlsCsrDer: Uint8Array;
  /** Either the cluster PSK with the server nonce of the verified bundle, or a join token. */
  readonly auth: { readonly psk: Uint8Array; readonly serverNonce: Uint8Array } | { readonly joinToken: string };
  readonly nowMs: number;
}

export interface BuiltRegistrationRequest {
  /** The exact bytes to POST (the PSK proof signs their hash). */
  readonly body: Uint8Array;
  /** The `Authorization` header value. */
  readonly authorization: string;
}

export function buildRegistrationRequest(input: BuildRegistrationInput): BuiltRegistrationRequest {
  checkNow(input.nowMs);
  const b64 = (der: Uint8Array): string => Buffer.from(der).toString('base64');
  const body = encodeRegistrationBody({
    version: REGISTRATION_BODY_VERSION,
    clusterId: input.clusterId,
    nodeId: input.nodeId,
    az: input.az,
    addresses: { api: input.addresses.api, raft: input.addresses.raft },
    icaCsr: b64(input.icaCsrDer),
    tlsCsr: b64(input.tlsCsrDer),
  });
  if ('joinToken' in input.auth) return { body, authorization: `${TOKEN_AUTH_SCHEME} ${input.auth.joinToken}` };
  const proof = signRegistration(input.auth.psk, {
    clusterId: input.clusterId,
    nodeId: input.nodeId,
    az: input.az,
    timestampSeconds: Math.floor(input.nowMs / 1000),
    bodySha256: sha256(body),
    serverNonce: input.auth.serverNonce,
  });
  return { body, authorization: formatRegistrationProof(proof) };
}

/** The server's answer to an accepted registration (after its events committed). */
export function registrationResponse(input: { icaCertDer: Uint8Array; tlsCertDer: Uint8Array; chainPem: string }): RegistrationResponseBody {
  const b64 = (der: Uint8Array): string => Buffer.from(der).toString('base64');
  return { icaCert: b64(input.icaCertDer), tlsCert: b64(input.tlsCertDer), chainPem: input.chainPem };
}

/**
 * The node's certificates from the answer, checked to carry its own ICA and TLS keys (a
 * response for another node's keys is refused with ERR_SIGNER_MISMATCH).
 */
export function readRegistrationResponse(response: RegistrationResponseBody, keys: NodeKeys): { icaCertDer: Uint8Array; tlsCertDer: Uint8Array; chainPem: string } {
  const icaCertDer = base64Der(response.icaCert, 'icaCert', CERT_BYTES_MAX);
  const tlsCertDer = base64Der(response.tlsCert, 'tlsCert', CERT_BYTES_MAX);
  if (typeof response.chainPem !== 'string' || response.chainPem.length > csrMaxBytes * 4) {
    throw new PkiError('ERR_INPUT_INVALID', 'registration chainPem: expected PEM text', { field: 'chainPem' });
  }
  for (const [der, key, field] of [[icaCertDer, keys.ica.spkiDer, 'icaCert'], [tlsCertDer, keys.tls.spkiDer, 'tlsCert']] as const) {
    if (!bytesEqual(readCertificateFields(der).spkiDer, key)) {
      throw new PkiError('ERR_SIGNER_MISMATCH', `${field} does not carry this node's key`, { field });
    }
  }
  return { icaCertDer, tlsCertDer, chainPem: response.chainPem };
}
