// Strict decoders of the provisioner events (provisioner-events.ts), for event-codec.ts's table.
// The public key and the policy are checked by the very validators the admin API uses
// (node/provisioners/), so the log holds only what an admin could have added.
import { isPkiError } from '../errors.ts';
import { validateProvisionerPolicy } from '../node/provisioners/provisioner-policy.ts';
import { validateProvisionerJwk } from '../node/provisioners/provisioner-token.ts';
import type { ProvisionerEvent, ProvisionerSpec, TokenSpentFor } from './provisioner-events.ts';
import { FieldError, FieldReader } from './fields.ts';

/** A provisioner name: what `iss` carries and what the admin API accepts. */
export const PROVISIONER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// The `jti` a token may carry (node/provisioners/provisioner-token.ts checks it on the way in).
const TOKEN_ID = /^[A-Za-z0-9_-]{16,128}$/;

function checked<T>(path: string, validate: () => T): T {
  try {
    return validate();
  } catch (e) {
    if (isPkiError(e)) throw new FieldError(e.field ?? path, e.message.replace(/^[^:]*: /, ''));
    throw e;
  }
}

function optionalSpentFor(r: FieldReader): { spentFor?: TokenSpentFor } {
  const spentFor = r.optional('spentFor', () => {
    const m = r.map('spentFor');
    return { az: m.id('az'), requestHash: m.sha256Hex('requestHash') };
  });
  return spentFor === undefined ? {} : { spentFor };
}

function readName(r: FieldReader, key: string, path = key): string {
  const name = r.id(key);
  if (!PROVISIONER_NAME.test(name)) throw new FieldError(path, 'expected a provisioner name (1..64 letters, digits, ., _ or -)');
  return name;
}

function readSpec(r: FieldReader): ProvisionerSpec {
  const spec = {
    name: readName(r, 'name', 'provisioner.name'),
    publicKey: checked('provisioner.publicKey', () => validateProvisionerJwk(r.raw('publicKey'), 'provisioner.publicKey')),
    policy: checked('provisioner.policy', () => validateProvisionerPolicy(r.raw('policy'), 'provisioner.policy')),
  };
  r.done();
  return spec;
}

export const PROVISIONER_READERS: { [T in ProvisionerEvent['type']]: (r: FieldReader) => ProvisionerEvent } = {
  ProvisionerAdded: (r) => ({
    type: 'ProvisionerAdded',
    provisioner: readSpec(r.map('provisioner')),
    requestedBy: r.text('requestedBy'),
    at: r.time('at'),
  }),
  ProvisionerRemoved: (r) => ({ type: 'ProvisionerRemoved', name: readName(r, 'name'), requestedBy: r.text('requestedBy'), at: r.time('at') }),
  ProvisionerTokenUsed: (r) => {
    const ev = {
      type: 'ProvisionerTokenUsed' as const,
      provisioner: readName(r, 'provisioner'),
      tokenId: r.id('tokenId'),
      subject: r.text('subject', 1, 255),
      expiresAt: r.time('expiresAt'),
      ...optionalSpentFor(r),
      at: r.time('at'),
    };
    if (!TOKEN_ID.test(ev.tokenId)) throw new FieldError('tokenId', 'expected 16..128 base64url characters');
    return ev;
  },
};
