export { NodeRegistration, type NodeRegistrationRequest } from './node-registration.ts';
export { signNodeRegistration } from './ca-node-registration.ts';
export type { CaBundleResponseBody } from './registration-body.ts';
export type { AcceptedRegistration, CaBundleResponseInput, VerifyRegistrationInput } from './registration.ts';
