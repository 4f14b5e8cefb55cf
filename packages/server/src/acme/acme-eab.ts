// RFC 8555 §7.3.4 external account binding: newAccount's `externalAccountBinding` is a flattened
// JWS, MACed (HS256/384/512) with a key the operator issued (`adrestia-pki cluster acme eab`),
// whose `kid` names that key, whose `url` is the newAccount URL, and whose payload is the account
// key. It is checked here; the global commit of the account binds the key once (apply-acme.ts).
import { flattenedVerify, type JWK } from 'jose';
import { AcmeProblem, type AcmeNodeApi } from '@adrestia/pki-core';
import { flattenedJwsOf, jwkThumbprint, protectedHeaderOf } from './jws.ts';

const EAB_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const FIELD = 'externalAccountBinding';

/** The id of the external account key that bound `accountJwk`; `malformed` or `unauthorized` naming what failed. */
export async function verifyExternalAccountBinding(value: unknown, url: string, accountJwk: JWK, node: Pick<AcmeNodeApi, 'eabKey'>): Promise<string> {
  const jws = flattenedJwsOf(value, FIELD);
  const header = protectedHeaderOf(jws);
  const { alg, kid, nonce } = header;
  if (typeof alg !== 'string' || !EAB_ALGORITHMS.includes(alg)) throw new AcmeProblem('malformed', `${FIELD}: alg ${JSON.stringify(alg)} is not one of ${EAB_ALGORITHMS.join(', ')}`);
  if (typeof kid !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(kid)) throw new AcmeProblem('malformed', `${FIELD}: "kid" must be the key id the operator issued`);
  if (nonce !== undefined) throw new AcmeProblem('malformed', `${FIELD}: the binding must not have a "nonce" (RFC 8555 §7.3.4)`);
  if (header['url'] !== url) throw new AcmeProblem('malformed', `${FIELD}: "url" must be the newAccount URL ${url}`);
  const key = await node.eabKey(kid);
  if (key === undefined) throw new AcmeProblem('unauthorized', `${FIELD}: key id ${kid} was not issued by this server`);
  if (key.accountId !== null) throw new AcmeProblem('unauthorized', `${FIELD}: key id ${kid} already bound account ${key.accountId}`);
  let payload: Uint8Array;
  try {
    ({ payload } = await flattenedVerify(jws, key.hmacKey, { algorithms: [alg] }));
  } catch {
    throw new AcmeProblem('unauthorized', `${FIELD}: the MAC does not verify with the HMAC key of ${kid}`);
  }
  let bound: unknown;
  try {
    bound = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new AcmeProblem('malformed', `${FIELD}: the payload must be the account key (a JWK)`);
  }
  if (typeof bound !== 'object' || bound === null || (await jwkThumbprint(bound as JWK).catch(() => '')) !== (await jwkThumbprint(accountJwk))) {
    throw new AcmeProblem('unauthorized', `${FIELD}: the payload is not the key that signs this request`);
  }
  return kid;
}
