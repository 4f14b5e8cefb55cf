// A hand-built ACME client for negative cases: every JWS is made here with jose, so a test can
// replay a nonce, name a wrong `url` or sign with another account's `kid`.
import type { webcrypto } from 'node:crypto';
import { request } from 'node:https';
import { calculateJwkThumbprint, exportJWK, FlattenedSign, generateKeyPair, type JWK } from 'jose';

export interface HandResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

export interface HandKey {
  privateKey: webcrypto.CryptoKey;
  jwk: JWK;
  thumbprint: string;
  /** Set once the account exists. */
  kid?: string;
}

export async function handKey(): Promise<HandKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return { privateKey: privateKey, jwk, thumbprint: await calculateJwkThumbprint(jwk) };
}

export class HandAcme {
  directory: Record<string, string> = {};

  constructor(
    private readonly directoryUrl: string,
    private readonly ca: string,
    private readonly localAddress: string,
  ) {}

  call(method: string, url: string, body?: string, headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/jose+json' }): Promise<HandResponse> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method, ca: this.ca, localAddress: this.localAddress, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // PEM or empty bodies
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async open(): Promise<void> {
    this.directory = (await this.call('GET', this.directoryUrl)).json as Record<string, string>;
  }

  async nonce(): Promise<string> {
    return String((await this.call('HEAD', this.directory['newNonce']!)).headers['replay-nonce']);
  }

  /** A signed POST; `payload` '' is POST-as-GET; `over` replaces header fields. */
  async sign(url: string, payload: unknown, key: HandKey, over: { url?: string; nonce?: string; kid?: string; jwk?: boolean } = {}): Promise<string> {
    const useJwk = over.jwk ?? key.kid === undefined;
    const header = {
      alg: 'ES256',
      nonce: over.nonce ?? (await this.nonce()),
      url: over.url ?? url,
      ...(useJwk ? { jwk: key.jwk } : { kid: over.kid ?? key.kid }),
    };
    const bytes = new TextEncoder().encode(payload === '' ? '' : JSON.stringify(payload));
    return JSON.stringify(await new FlattenedSign(bytes).setProtectedHeader(header).sign(key.privateKey));
  }

  async post(url: string, payload: unknown, key: HandKey, over: Parameters<HandAcme['sign']>[3] = {}): Promise<HandResponse> {
    return this.call('POST', url, await this.sign(url, payload, key, over));
  }

  /** RFC 8555 §7.3.5: the outer JWS by `key`'s account carries an inner JWS by `newKey` (no nonce). */
  async keyChange(key: HandKey, newKey: HandKey, inner: { account?: string; oldKey?: JWK; url?: string } = {}): Promise<HandResponse> {
    const url = this.directory['keyChange']!;
    const payload = new TextEncoder().encode(JSON.stringify({ account: inner.account ?? key.kid, oldKey: inner.oldKey ?? key.jwk }));
    const nested = await new FlattenedSign(payload).setProtectedHeader({ alg: 'ES256', jwk: newKey.jwk, url: inner.url ?? url }).sign(newKey.privateKey);
    return this.post(url, nested, key);
  }

  /**
   * A signed POST retried, each time with a fresh nonce, while the cluster cannot answer (a 503
   * with Retry-After while it elects, or no connection to a killed node), as ACME clients retry.
   */
  async postRetrying(url: string, payload: unknown, key: HandKey, deadlineMs: number): Promise<HandResponse> {
    for (;;) {
      const r = await this.post(url, payload, key).catch((e: Error) => ({ status: 0, headers: {}, text: e.message, json: {} }) satisfies HandResponse);
      if ((r.status !== 503 && r.status !== 0) || Date.now() > deadlineMs) return r;
      await new Promise((done) => setTimeout(done, 300));
    }
  }

  /** RFC 8555 §7.3.4: the account key MACed with an external account key. */
  async binding(key: HandKey, keyId: string, hmacKey: Uint8Array): Promise<unknown> {
    const payload = new TextEncoder().encode(JSON.stringify(key.jwk));
    return new FlattenedSign(payload).setProtectedHeader({ alg: 'HS256', kid: keyId, url: this.directory['newAccount']! }).sign(hmacKey);
  }

  async newAccount(key: HandKey, extra: Record<string, unknown> = {}): Promise<HandResponse> {
    const r = await this.post(this.directory['newAccount']!, { termsOfServiceAgreed: true, ...extra }, key, { jwk: true });
    if (r.status === 201 || r.status === 200) key.kid = String(r.headers['location']);
    return r;
  }
}
