// Challenge validation (RFC 8555 §8.3 http-01, §8.4 dns-01; RFC 8737 tls-alpn-01), run by a node
// of the AZ that holds the order. Every failure says what was asked, of which address, and what
// came back, so the client's operator can act on it. Ports and the DNS server are configurable
// for tests and closed networks (`acme.http01Port`, `acme.tlsAlpn01Port`, `acme.resolver`), and
// loopback targets are refused unless `acme.allowLoopback` is set.
import { createHash } from 'node:crypto';
import { Resolver, lookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { isIP } from 'node:net';
import type { AcmeAuthzView, AcmeChallengeType, AcmeProblemData } from '@adrestia/pki-core';
import { validateTlsAlpn01 } from './tls-alpn-01.ts';

export interface ValidationConfig {
  http01Port: number;
  tlsAlpn01Port: number;
  /** `host:port` of the DNS server to ask; absent: the system's. */
  resolver: string | undefined;
  allowLoopback: boolean;
}

/** One fetch or handshake must finish within this. */
const VALIDATION_TIMEOUT_MS = 10_000;
/** The most of an http-01 answer read (RFC 8555 §8.3: the key authorization, with whitespace). */
const HTTP01_BODY_BYTES_MAX = 8 * 1024;

export type Problem = AcmeProblemData;

export class ChallengeValidator {
  private readonly resolver: Resolver | null;

  constructor(private readonly config: ValidationConfig) {
    this.resolver = config.resolver === undefined ? null : new Resolver({ timeout: VALIDATION_TIMEOUT_MS, tries: 2 });
    this.resolver?.setServers([config.resolver!]);
  }

  /** The problem, or undefined when the challenge is met. `keyAuthorization` is token.thumbprint (RFC 8555 §8.1). */
  async validate(authz: AcmeAuthzView, type: AcmeChallengeType, keyAuthorization: string): Promise<Problem | undefined> {
    const name = authz.identifier.value;
    if (type === 'dns-01') return this.dns01(name, keyAuthorization);
    const addresses = await this.addressesOf(authz.identifier);
    if (!Array.isArray(addresses)) return addresses;
    if (type === 'http-01') return this.http01(authz.identifier.type === 'ip' ? name : name, addresses[0]!, keyAuthorization);
    return validateTlsAlpn01(authz.identifier, addresses[0]!, this.config.tlsAlpn01Port, keyAuthorization, VALIDATION_TIMEOUT_MS);
  }

  private async addressesOf(identifier: AcmeAuthzView['identifier']): Promise<string[] | Problem> {
    let addresses: string[];
    if (identifier.type === 'ip') {
      addresses = [identifier.value];
    } else {
      try {
        addresses = await this.resolve(identifier.value);
      } catch (e) {
        return { type: 'dns', detail: `no address for ${identifier.value} from ${this.config.resolver ?? 'the system resolver'}: ${(e as Error).message}` };
      }
      if (addresses.length === 0) return { type: 'dns', detail: `no A or AAAA record for ${identifier.value} at ${this.config.resolver ?? 'the system resolver'}` };
    }
    const allowed = addresses.filter((a) => this.config.allowLoopback || !isLoopback(a));
    if (allowed.length === 0) return { type: 'connection', detail: `${identifier.value} resolves to ${addresses.join(', ')}, loopback addresses this server does not validate against (acme.allowLoopback is off)` };
    return allowed;
  }

  private async resolve(name: string): Promise<string[]> {
    if (this.resolver === null) return (await lookup(name, { all: true })).map((a) => a.address);
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(name), this.resolver.resolve6(name)]);
    const found = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (found.length === 0 && v4.status === 'rejected') throw v4.reason as Error;
    return found;
  }

  private http01(name: string, address: string, keyAuthorization: string): Promise<Problem | undefined> {
    const token = keyAuthorization.split('.')[0]!;
    const path = `/.well-known/acme-challenge/${token}`;
    const hostHeader = isIP(name) === 6 ? `[${name}]` : name;
    const what = `http://${hostHeader}:${this.config.http01Port}${path} (address ${address})`;
    return new Promise((resolve) => {
      const req = httpRequest({ host: address, port: this.config.http01Port, path, method: 'GET', headers: { host: `${hostHeader}:${this.config.http01Port}`, 'user-agent': 'adrestia-pki acme validation' }, timeout: VALIDATION_TIMEOUT_MS });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${VALIDATION_TIMEOUT_MS} ms`)));
      req.on('error', (e) => resolve({ type: 'connection', detail: `fetching ${what} failed: ${e.message}` }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (c: Buffer) => {
          total += c.length;
          if (total <= HTTP01_BODY_BYTES_MAX) chunks.push(c);
        });
        res.on('error', (e) => resolve({ type: 'connection', detail: `reading ${what} failed: ${e.message}` }));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const shown = JSON.stringify(body.slice(0, 80));
          if (res.statusCode !== 200) resolve({ type: 'unauthorized', detail: `${what} answered HTTP ${res.statusCode} (body ${shown}); expected 200 with the key authorization` });
          else if (body.trim() !== keyAuthorization) resolve({ type: 'incorrectResponse', detail: `${what} answered ${shown}; expected the key authorization ${JSON.stringify(keyAuthorization)}` });
          else resolve(undefined);
        });
      });
      req.end();
    });
  }

  private async dns01(name: string, keyAuthorization: string): Promise<Problem | undefined> {
    const record = `_acme-challenge.${name}`;
    const expected = createHash('sha256').update(keyAuthorization).digest('base64url');
    const from = this.config.resolver ?? 'the system resolver';
    let txt: string[][];
    try {
      // A fresh query each time: node's Resolver keeps no cache, so a record set a moment ago is seen.
      txt = await (this.resolver ?? new Resolver({ timeout: VALIDATION_TIMEOUT_MS, tries: 2 })).resolveTxt(record);
    } catch (e) {
      return { type: 'dns', detail: `TXT ${record} from ${from}: ${(e as Error).message}` };
    }
    const values = txt.map((chunks) => chunks.join(''));
    if (values.includes(expected)) return undefined;
    return { type: 'incorrectResponse', detail: `TXT ${record} from ${from} holds ${JSON.stringify(values)}; expected ${JSON.stringify(expected)}` };
  }
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address === '0.0.0.0' || address === '::' || address.startsWith('::ffff:127.');
}
