export { Acme, DEFAULT_ACME_OPTIONS } from './acme.ts';
export type { AcmeOptions } from './acme-directories.ts';
export type { AcmeAccountRecord, AcmeAuthzView, AcmeNodeApi, AcmeOrderView } from './acme-api.ts';
export type { AcmeIdentifierPolicy } from './acme-identifiers.ts';
export { ACME_PROBLEM_TYPES, AcmeProblem, type AcmeProblemType } from './acme-problem.ts';
