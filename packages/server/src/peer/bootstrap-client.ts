// Registration from the newcomer's side (docs/spec.md §3.2). The node has no certificate yet, so it:
//  1. fetches the CA bundle over plain HTTP with a fresh nonce and trusts it only once the PSK
//     proof verifies (the PSK never crosses the wire) — or, holding a join token instead of the
//     PSK, only if its root is the one the token names (rootSha256);
//  2. sends its request over HTTPS pinned to that bundle's root, authenticated by the PSK proof
//     over the exact body bytes with the server's nonce, or by the join token: `register` (CSRs;
//     keys stay here) to its AZ's local VIP, or `foundAz` (the first node of an AZ, PSK only) to
//     the cluster VIP.
import { createHash, randomBytes } from 'node:crypto';
import { PkiError, toPem, type PeerClient, type PeerRequest, type PeerResponse } from '@adrestia/pki-core';
import {
  buildRegistrationRequest,
  formatRegistrationProof,
  readJoinTokenClaims,
  signRegistration,
  verifyCaBundle,
  verifyCaBundlePinned,
  type CaBundleResponseBody,
  type JoinTokenClaims,
  type RegistrationResponseBody,
  type VerifiedCaBundle,
} from '@adrestia/pki-core/registration';
import { encodeFoundAzBody, FOUND_AZ_BODY_VERSION } from '../api/found-az-body.ts';
import { errorOf } from './https-peer-client.ts';
import { httpCall, httpCallFollowing, type HttpCallResult } from './http-request.ts';

export interface BootstrapOptions {
  /** The cluster PSK; absent when the node joins with `joinToken` only. */
  psk?: Uint8Array;
  /** A join token (single use, bound to this node's AZ): used instead of the PSK when given. */
  joinToken?: string;
  /** Our own address: requests route by REMOTE_ADDR (docs/spec.md §4.6). */
  localAddress: string;
  clusterVip: string;
  localVip: string;
  ports: { http: number; https: number };
  timeoutMs: number;
  nowMs: () => number;
}

export interface Registered {
  tlsCertDer: Uint8Array;
  /** The AZ ICA (PEM) to send after our TLS certificate. */
  chainPem: string;
  /**
   * What node TLS trusts until the node has the cluster's state (serve/node-tls.ts trustPemOf
   * then): the verified CA bundle — the root, after a rollover the cross certificates
   * (RFC 4158 §2.3) through which the peers still under the previous root chain to it, and the AZ
   * ICAs. Only the self-signed root is a trust anchor; the others are path elements.
   */
  rootPem: string;
}

/**
 * What a verified CA bundle lets this node trust: its root as the one anchor, and the cross
 * certificates and AZ ICAs as path elements (a certificate that is not self-signed anchors
 * nothing: OpenSSL without X509_V_FLAG_PARTIAL_CHAIN).
 */
function bundleTrustPem(bundle: VerifiedCaBundle): string {
  return [bundle.rootDer, ...bundle.azIcaDers].map((der) => toPem(der)).join('');
}

const RESPONSE_BYTES_MAX = 1024 * 1024;
const REDIRECTS_MAX = 2;

export class BootstrapClient implements PeerClient {
  /** Set once a registration succeeded: the TLS certificate and chain to serve with. */
  registered: Registered | null = null;

  constructor(private readonly options: BootstrapOptions) {}

  async call(_nodeId: string, request: PeerRequest): Promise<PeerResponse> {
    if (request.kind === 'register') return this.register(request);
    if (request.kind === 'foundAz') return this.foundAz(request);
    throw new PkiError('ERR_INPUT_INVALID', `bootstrap cannot send ${request.kind}`);
  }

  private async register(r: Extract<PeerRequest, { kind: 'register' }>): Promise<PeerResponse> {
    const { joinToken, psk } = this.options;
    // A join token pins the root by its hash; the PSK proves the bundle by an HMAC proof.
    const tokenClaims = joinToken === undefined ? null : readJoinTokenClaims(joinToken);
    const bundle = await this.fetchBundle(this.options.localVip, tokenClaims);
    const auth = joinToken !== undefined ? { joinToken } : { psk: this.requirePsk('registration', psk), serverNonce: bundle.serverNonce };
    const built = buildRegistrationRequest({
      clusterId: bundle.clusterId,
      nodeId: r.nodeId,
      az: r.az,
      addresses: r.addresses,
      icaCsrDer: r.icaCsrDer,
      tlsCsrDer: r.tlsCsrDer,
      auth,
      nowMs: this.options.nowMs(),
    });
    const result = await this.post(this.options.localVip, '/api/v1/registrations', built.body, built.authorization, bundle);
    if (result.status !== 201) return errorResponse(result);
    return this.acceptRegistration(result.body, bundle);
  }

  private requirePsk(what: string, psk: Uint8Array | undefined): Uint8Array {
    if (psk === undefined) throw new PkiError('ERR_AUTH_REQUIRED', `${what} needs the cluster PSK (authPskFile): a join token only registers a node in an AZ that already exists`);
    return psk;
  }

  private async foundAz(r: Extract<PeerRequest, { kind: 'foundAz' }>): Promise<PeerResponse> {
    const psk = this.requirePsk(`founding AZ ${r.az.name}`, this.options.psk);
    const bundle = await this.fetchBundle(this.options.clusterVip, null);
    const body = encodeFoundAzBody({
      version: FOUND_AZ_BODY_VERSION,
      clusterId: bundle.clusterId,
      nodeId: r.nodeId,
      az: r.az,
      addresses: r.addresses,
      icaCsr: Buffer.from(r.icaCsrDer).toString('base64'),
      tlsCsr: Buffer.from(r.tlsCsrDer).toString('base64'),
      ...(r.restoredCas === undefined ? {} : { restoredCas: r.restoredCas.map((e) => Buffer.from(e).toString('base64')) }),
    });
    const proof = signRegistration(psk, {
      clusterId: bundle.clusterId,
      nodeId: r.nodeId,
      az: r.az.name,
      timestampSeconds: Math.floor(this.options.nowMs() / 1000),
      bodySha256: new Uint8Array(createHash('sha256').update(body).digest()),
      serverNonce: bundle.serverNonce,
    });
    const result = await this.post(this.options.clusterVip, '/api/v1/azs', body, formatRegistrationProof(proof), bundle);
    if (result.status !== 201) return errorResponse(result);
    return this.acceptRegistration(result.body, bundle);
  }

  /** A registration answer: the certificates, and the chain and root to serve with from now on. */
  private acceptRegistration(bytes: Uint8Array, bundle: VerifiedCaBundle): PeerResponse {
    const body = JSON.parse(Buffer.from(bytes).toString('utf8')) as RegistrationResponseBody;
    const icaCertDer = new Uint8Array(Buffer.from(body.icaCert, 'base64'));
    const tlsCertDer = new Uint8Array(Buffer.from(body.tlsCert, 'base64'));
    this.registered = { tlsCertDer, chainPem: body.chainPem, rootPem: bundleTrustPem(bundle) };
    return { kind: 'registered', icaCertDer, tlsCertDer };
  }

  /** Step 1: the bundle and its PSK proof for our nonce, over plain HTTP. */
  private async fetchBundle(vip: string, token: JoinTokenClaims | null): Promise<VerifiedCaBundle> {
    const nonce = randomBytes(32);
    let url = `http://${vip}:${this.options.ports.http}/api/v1/ca?nonce=${nonce.toString('base64url')}`;
    for (let i = 0; ; i++) {
      const result = await this.transient(() => httpCall(url, { timeoutMs: this.options.timeoutMs, maxResponseBytes: RESPONSE_BYTES_MAX, localAddress: this.options.localAddress }));
      const location = result.headers.location;
      if (result.status === 307 && location !== undefined && i < REDIRECTS_MAX) {
        url = location;
        continue;
      }
      if (result.status !== 200) {
        const e = errorOf(result.body);
        throw new PkiError('ERR_NO_LOCAL_QUORUM', `CA bundle from ${vip}: HTTP ${result.status} ${e.code}: ${e.message}`);
      }
      const response = JSON.parse(result.body.toString('utf8')) as CaBundleResponseBody;
      if (token !== null) {
        if (token.rootSha256 === undefined) throw new PkiError('ERR_AUTH_TOKEN_INVALID', 'the join token names no root (rootSha256): mint a new one', { field: 'joinToken' });
        return verifyCaBundlePinned({ response, rootSha256: token.rootSha256, expectedClusterId: token.clusterId });
      }
      return verifyCaBundle({ response, psk: this.requirePsk('trusting the CA bundle', this.options.psk), clientNonce: nonce });
    }
  }

  /**
   * Step 2: HTTPS pinned to the verified root, to a node of this cluster answering for the VIP
   * dialled (node certificates name the VIPs they may hold); 307s (another node holds the role
   * now) are followed, https to https only.
   */
  private async post(vip: string, path: string, body: Uint8Array, authorization: string, bundle: VerifiedCaBundle): Promise<HttpCallResult> {
    const url = `https://${vip}:${this.options.ports.https}${path}`;
    return this.transient(() =>
      httpCallFollowing(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization },
          body,
          timeoutMs: this.options.timeoutMs,
          maxResponseBytes: RESPONSE_BYTES_MAX,
          localAddress: this.options.localAddress,
          // After a root rollover the node answering may still serve a certificate under the
          // previous root: it chains to this one through the bundle's cross certificate (RFC 4158 §2.3).
          ca: bundleTrustPem(bundle),
          serverNode: true,
        },
        REDIRECTS_MAX,
      ),
    );
  }

  private async transient<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (cause) {
      throw new PkiError('ERR_TIMEOUT', (cause as Error).message, { cause });
    }
  }
}

function errorResponse(result: HttpCallResult): PeerResponse {
  const e = errorOf(result.body);
  return { kind: 'error', code: e.code, message: e.message, leaderId: null };
}
