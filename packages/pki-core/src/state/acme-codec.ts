// Strict decoders of the ACME events (acme-events.ts), one per type, for event-codec.ts's table.
// Every list and text has a bound, so one event stays bounded work to apply.
import {
  ACME_CHALLENGE_TYPES,
  type AcmeChallengeType,
  type AcmeEvent,
  type AcmeIdentifier,
  type AcmeNewAuthz,
  type AcmeNewChallenge,
  type AcmeProblemData,
} from './acme-events.ts';
import { checkText, FieldError, FieldReader, LIMITS } from './fields.ts';

const ACME_LIMITS = Object.freeze({
  /** A JWK of an RSA-8192 key is under 3 KiB of JSON. */
  maxJwkJsonChars: 8192,
  maxContacts: 8,
  maxContactChars: 512,
  /** Identifiers per order (the SANs a certificate may carry). */
  maxIdentifiers: LIMITS.maxSans,
  maxChallengesPerAuthz: ACME_CHALLENGE_TYPES.length,
  maxTokenChars: 128,
  maxProblemDetailChars: 2048,
});

type AcmeEventType = AcmeEvent['type'];

const IDENTIFIER_TYPES = ['dns', 'ip'] as const;
const PROBLEM_TYPE = /^[A-Za-z]{1,64}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function readIdentifier(value: unknown, path: string): AcmeIdentifier {
  const r = FieldReader.of(value, path);
  const identifier = { type: r.oneOf('type', IDENTIFIER_TYPES), value: r.text('value', 1, LIMITS.maxSanChars) };
  r.done();
  return identifier;
}

function readToken(value: unknown, path: string): string {
  const token = checkText(value, path, 22, ACME_LIMITS.maxTokenChars);
  if (!BASE64URL.test(token)) throw new FieldError(path, 'expected base64url');
  return token;
}

function readChallenge(value: unknown, path: string): AcmeNewChallenge {
  const r = FieldReader.of(value, path);
  const challenge = { type: r.oneOf<AcmeChallengeType>('type', ACME_CHALLENGE_TYPES), token: readToken(r.raw('token'), `${path}.token`) };
  r.done();
  return challenge;
}

function readAuthz(value: unknown, path: string): AcmeNewAuthz {
  const r = FieldReader.of(value, path);
  const raw = r.raw('wildcard');
  if (typeof raw !== 'boolean') throw new FieldError(`${path}.wildcard`, 'expected a boolean');
  const authz = {
    authzId: r.id('authzId'),
    identifier: readIdentifier(r.raw('identifier'), `${path}.identifier`),
    wildcard: raw,
    challenges: r.list('challenges', ACME_LIMITS.maxChallengesPerAuthz, readChallenge),
  };
  r.done();
  if (authz.challenges.length === 0) throw new FieldError(`${path}.challenges`, 'expected at least one challenge');
  return authz;
}

function readProblem(r: FieldReader): AcmeProblemData {
  const type = r.text('type', 1, 64);
  if (!PROBLEM_TYPE.test(type)) throw new FieldError('error.type', 'expected an ACME error type name');
  const problem = { type, detail: r.text('detail', 1, ACME_LIMITS.maxProblemDetailChars) };
  r.done();
  return problem;
}

function readContacts(r: FieldReader): string[] {
  return r.list('contact', ACME_LIMITS.maxContacts, (v, p) => checkText(v, p, 1, ACME_LIMITS.maxContactChars));
}

function readBoolean(r: FieldReader, key: string): boolean {
  const v = r.raw(key);
  if (typeof v !== 'boolean') throw new FieldError(key, 'expected a boolean');
  return v;
}

function readOrderCreated(r: FieldReader): AcmeEvent {
  const replaces = r.optional('replaces', () => r.text('replaces', 1, 512));
  const directory = r.optional('directory', () => r.text('directory', 1, 32));
  const ev = {
    type: 'AcmeOrderCreated' as const,
    orderId: r.id('orderId'),
    accountId: r.id('accountId'),
    identifiers: r.list('identifiers', ACME_LIMITS.maxIdentifiers, readIdentifier),
    authzs: r.list('authzs', ACME_LIMITS.maxIdentifiers, readAuthz),
    expiresAt: r.time('expiresAt'),
    ...(replaces === undefined ? {} : { replaces }),
    ...(directory === undefined ? {} : { directory }),
    at: r.time('at'),
  };
  if (ev.identifiers.length === 0) throw new FieldError('identifiers', 'expected at least one identifier');
  if (ev.authzs.length !== ev.identifiers.length) throw new FieldError('authzs', 'expected one authorization per identifier');
  return ev;
}

export const ACME_READERS: { [T in AcmeEventType]: (r: FieldReader) => AcmeEvent } = {
  AcmeAccountCreated: (r) => {
    const eabKeyId = r.optional('eabKeyId', () => r.id('eabKeyId'));
    return {
      type: 'AcmeAccountCreated',
      accountId: r.id('accountId'),
      keyThumbprint: r.id('keyThumbprint'),
      jwkJson: r.text('jwkJson', 2, ACME_LIMITS.maxJwkJsonChars),
      contact: readContacts(r),
      ...(eabKeyId === undefined ? {} : { eabKeyId }),
      at: r.time('at'),
    };
  },
  AcmeAccountUpdated: (r) => ({
    type: 'AcmeAccountUpdated',
    accountId: r.id('accountId'),
    contact: readContacts(r),
    deactivate: readBoolean(r, 'deactivate'),
    at: r.time('at'),
  }),
  AcmeAccountKeyChanged: (r) => ({
    type: 'AcmeAccountKeyChanged',
    accountId: r.id('accountId'),
    oldKeyThumbprint: r.id('oldKeyThumbprint'),
    keyThumbprint: r.id('keyThumbprint'),
    jwkJson: r.text('jwkJson', 2, ACME_LIMITS.maxJwkJsonChars),
    at: r.time('at'),
  }),
  AcmeEabKeyCreated: (r) => ({ type: 'AcmeEabKeyCreated', keyId: r.id('keyId'), keySealed: r.bytes('keySealed', 256), at: r.time('at') }),
  AcmeOrderCreated: readOrderCreated,
  AcmeChallengeValidated: (r) => {
    const error = r.optional('error', () => readProblem(r.map('error')));
    return {
      type: 'AcmeChallengeValidated',
      authzId: r.id('authzId'),
      challengeType: r.oneOf<AcmeChallengeType>('challengeType', ACME_CHALLENGE_TYPES),
      ...(error === undefined ? {} : { error }),
      at: r.time('at'),
    };
  },
  AcmeAuthzDeactivated: (r) => ({ type: 'AcmeAuthzDeactivated', authzId: r.id('authzId'), accountId: r.id('accountId'), at: r.time('at') }),
  AcmeOrderFinalized: (r) => ({
    type: 'AcmeOrderFinalized',
    orderId: r.id('orderId'),
    accountId: r.id('accountId'),
    issuerId: r.id('issuerId'),
    serialHex: r.serialHex('serialHex'),
    at: r.time('at'),
  }),
};
