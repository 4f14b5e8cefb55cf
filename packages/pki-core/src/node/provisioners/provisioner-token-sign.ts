// Minting a one-time provisioner token (the requester's side of provisioner-token.ts): signed by
// the provisioner's private key with the algorithm that key implies (ES256 for P-256, EdDSA for
// Ed25519), `jti` 128 random bits, valid `lifetimeSeconds` from `nowSeconds`.
import { randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { PkiError } from '../../errors.ts';

export interface ProvisionerTokenInput {
  readonly privateKey: KeyObject;
  readonly provisioner: string;
  /** The cluster id. */
  readonly audience: string;
  /** The certificate's subject CN. */
  readonly subject: string;
  /** `dns:…`, `ip:…`, `uri:…` (ca/san.ts parseSanText forms). */
  readonly sans: readonly string[];
  readonly nowSeconds: number;
  readonly lifetimeSeconds: number;
}

function algorithmOf(key: KeyObject): 'ES256' | 'EdDSA' {
  if (key.type !== 'private') throw new PkiError('ERR_KEY_UNSUPPORTED', 'a provisioner token is signed with a private key', { field: 'key' });
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new PkiError('ERR_KEY_UNSUPPORTED', 'a provisioner key is P-256 (ES256) or Ed25519 (EdDSA)', { field: 'key' });
}

export async function signProvisionerToken(o: ProvisionerTokenInput): Promise<string> {
  const alg = algorithmOf(o.privateKey);
  return new SignJWT({ sans: [...o.sans] })
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setIssuer(o.provisioner)
    .setAudience(o.audience)
    .setSubject(o.subject)
    .setJti(randomBytes(16).toString('base64url'))
    .setIssuedAt(o.nowSeconds)
    .setExpirationTime(o.nowSeconds + o.lifetimeSeconds)
    .sign(o.privateKey);
}
