export { AdminServices, type IssuedJoinToken, type JoinTokenRequest } from './admin-services.ts';
export type { AzDeclaration, DeclaredAz } from './az-admin.ts';
export type { RefoundRequest } from './az-refound.ts';
export { checkAzMatches } from './az-spec.ts';
