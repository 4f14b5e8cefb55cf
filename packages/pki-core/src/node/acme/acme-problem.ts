// RFC 8555 §6.7 problem types, as the node's ACME feature raises them. The server turns an
// `AcmeProblem` into an `application/problem+json` document with this type and status.

/** The error types of RFC 8555 §6.7 (the `urn:ietf:params:acme:error:` suffix). */
export const ACME_PROBLEM_TYPES = [
  'accountDoesNotExist',
  'alreadyRevoked',
  'badCSR',
  'badNonce',
  'badPublicKey',
  'badRevocationReason',
  'badSignatureAlgorithm',
  'caa',
  'connection',
  'dns',
  'externalAccountRequired',
  'incorrectResponse',
  'invalidContact',
  'malformed',
  'orderNotReady',
  'rateLimited',
  'rejectedIdentifier',
  'serverInternal',
  'tls',
  'unauthorized',
  'unsupportedContact',
  'unsupportedIdentifier',
  'userActionRequired',
] as const;

export type AcmeProblemType = (typeof ACME_PROBLEM_TYPES)[number];

/** The HTTP status each problem type is answered with (RFC 8555 §6.7 leaves it to the server; these follow its examples). */
const ACME_PROBLEM_STATUS: Record<AcmeProblemType, number> = {
  accountDoesNotExist: 400,
  alreadyRevoked: 400,
  badCSR: 400,
  badNonce: 400,
  badPublicKey: 400,
  badRevocationReason: 400,
  badSignatureAlgorithm: 400,
  caa: 403,
  connection: 400,
  dns: 400,
  externalAccountRequired: 401,
  incorrectResponse: 403,
  invalidContact: 400,
  malformed: 400,
  orderNotReady: 403,
  rateLimited: 429,
  rejectedIdentifier: 400,
  serverInternal: 500,
  tls: 400,
  unauthorized: 403,
  unsupportedContact: 400,
  unsupportedIdentifier: 400,
  userActionRequired: 403,
};

/** An expected ACME failure: the client gets this problem type and detail. */
export class AcmeProblem extends Error {
  readonly code = 'ERR_ACME_PROBLEM';

  constructor(
    readonly type: AcmeProblemType,
    readonly detail: string,
    readonly options: { status?: number; retryAfterSeconds?: number; subproblems?: { type: AcmeProblemType; detail: string; identifier: { type: string; value: string } }[] } = {},
  ) {
    super(`${type}: ${detail}`);
    this.name = 'AcmeProblem';
  }

  get status(): number {
    return this.options.status ?? ACME_PROBLEM_STATUS[this.type];
  }
}
