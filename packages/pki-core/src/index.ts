// Public entry of @adrestia/pki-core: the library API of one node of the PKI cluster (PkiNode),
// its typed errors, and the few CA-engine functions an embedder needs around it. What the server
// and the simulators use beyond this comes from the subpath entries (package.json `exports`):
// `./cluster` (entry-cluster.ts), `./registration` (entry-registration.ts), `./node` (entry-node.ts).

// The node: how it starts (found a cluster, found an AZ, join, restart) and what it is given.
export { PkiNode, type BootstrapOptions, type PkiNodeOptions, type PkiNodeStart } from './node/pki-node.ts';
export type { OfflineRootFounding } from './node/founding/index.ts';
export { CRL_REASON_NAMES, DEFAULT_CLUSTER_SETTINGS, type AzSpec, type ClusterSettings, type CrlReason, type NodeAddresses } from './state/events.ts';
export { validateAllowedNames, type AllowedNames } from './ca/allowed-names.ts';
export { checkDomainRule } from './ca/dns-name.ts';
export { REVOCATION_REASONS } from './ca/crl-reasons.ts';
export type { NodeKey, NodeKeyKind, NodeKeys, NodeKeyStore } from './node/ca/ca-node-keys.ts';
export type { PeerClient, PeerRequest, PeerResponse } from './node/peer/protocol.ts';
export type { ProbeAnswer } from './node/founding/discovery.ts';
export type { VipHookLike } from './node/vip/vip-manager.ts';

// What a running node answers (PkiNodeApi), with its requests and results.
export type {
  CaBundle,
  IssuedLeaf as IssuedLeafResult,
  IssueRequest,
  PkiNodeApi,
  PkiNodeStatus,
  PkiRoleEvent,
  RenewRequest,
  RevokeRequest,
  TierStatus,
} from './node/pki-node-api.ts';
export type { OcspAnswer, OcspOutcome } from './node/ocsp/index.ts';
export { OCSP_REQUEST_BYTES_MAX } from './ca/ocsp-request.ts';
export type { IssuedJoinToken, JoinTokenRequest } from './node/admin/admin-services.ts';
export type { AzDeclaration, DeclaredAz } from './node/admin/az-admin.ts';
export type { RefoundRequest } from './node/admin/az-refound.ts';
export type { RefoundedAz, RemovedAz, RemovedNode } from './node/peer/protocol.ts';
// Tamper-evident history (docs/architecture.md §18): pages a node serves, and their verifier.
export { AUDIT_PAGE_ENTRIES_MAX, auditEventSummary, verifyAuditHistory, type AuditDivergence, type AuditHistoryEntry, type AuditHistoryInput, type AuditPage, type AuditSummary, type AuditVerdict } from './node/audit/index.ts';
// The cluster backup file (`adrestia-pki cluster backup` / `restore`).
export { decodeBackup, type AzStateSnapshot, type ClusterBackup } from './node/admin/backup-file.ts';
export type { RotatedRoot } from './node/ca/root-rollover.ts';
export type { RotatedKek } from './node/kek/kek-rotation.ts';
export type { PendingRootRollover } from './node/ca/root-rollover-offline.ts';
export type { CertificateRecord } from './state/records.ts';
export type { CaExpiry, CrlReport, MemberReplication, OperatorReport, RecentRevocation, TierReport, VipHolding } from './node/status/index.ts';
export type { ClusterMap } from './cluster/cluster-map.ts';
export type { ClusterMapDiff, ClusterMapSince } from './cluster/map-generation.ts';

// Expected failures: typed, with stable codes callers switch on.
export { PKI_ERROR_CODES, PkiError, isPkiError, type PkiErrorCode } from './errors.ts';

// CA engine: keys and CSRs, PEM, a read-only view of a certificate, SANs, certificate profiles.
export { generateCaKeyPair, spkiDerOf, type CaKeyType, type GeneratedKeyPair } from './ca/keys.ts';
export { buildCsr } from './node/ca/ca-node-keys.ts';
export type { GeneralNameInput } from './ca/general-names.ts';
export { parseCsr, type ParsedCsr } from './ca/csr.ts';
export { fromPem, pemBlocks, toPem, type PemBlock } from './ca/pem.ts';
export { CertificateView, viewCertificate } from './ca/view.ts';
export { parseSanText, type SanEntry } from './ca/san.ts';
export { BUILTIN_PROFILES, PROFILE_NAMES, type CertificateProfile } from './ca/profiles.ts';

// ACME (RFC 8555): the node's objects and the problems its answers carry (node/acme/).
export { ACME_PROBLEM_TYPES, AcmeProblem, DEFAULT_ACME_OPTIONS, type AcmeAccountRecord, type AcmeAuthzView, type AcmeIdentifierPolicy, type AcmeNodeApi, type AcmeOptions, type AcmeOrderView, type AcmeProblemType } from './node/acme/index.ts';
export type { AcmeChallengeType, AcmeIdentifier, AcmeProblemData } from './state/acme-events.ts';
export { readCertificateFields } from './ca/cert-fields.ts';
// CA renewal schedule (node/ca/renewal-policy.ts): when each CA role is renewed, for checkers.
export { renewAtMs } from './node/ca/renewal-policy.ts';
export { AZ_ICA_LEAD_SECONDS, nodeIcaLeadSeconds } from './node/ca/renewal-leads.ts';
// Provisioners: the policy every non-admin issuing credential (tokens, ACME directories) is held to.
export { checkProvisionerPolicy, validateProvisionerPolicy, type PolicyRequest, type ProvisionerPolicy } from './node/provisioners/provisioner-policy.ts';
export type { ProvisionerView } from './node/provisioners/provisioner-admin.ts';
export { signProvisionerToken, type ProvisionerTokenInput } from './node/provisioners/provisioner-token-sign.ts';
export { boundSans, validateProvisionerJwk, verifyProvisionerToken, type ProvisionerJwk, type ProvisionerTokenClaims } from './node/provisioners/provisioner-token.ts';
