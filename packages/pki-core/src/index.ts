export * from './errors.ts';
// CA engine: keys, signers, certificate building, key wrapping (ca/, CA-engine helper)
export { CA_KEY_TYPES, defaultCaKeyType, generateCaKeyPair, isCaKeyType, privateKeyPkcs8Der, spkiDerOf } from './ca/keys.ts';
export type { CaKeyType, GeneratedKeyPair, KeyPairGenerator } from './ca/keys.ts';
export { signatureAlgorithmForKey } from './ca/algorithms.ts';
export type { SignatureAlgorithm } from './ca/algorithms.ts';
export { KeyObjectSigner, loadPemFileSigner, offlineSigner, wrappedKeySigner } from './ca/signer.ts';
export type { Signer } from './ca/signer.ts';
export { assertPrivateKeyFileMode, privateKeyFileMode, readPrivateKeyFile, writePrivateKeyFile } from './ca/key-file.ts';
export { decodeKek, kekBytes, readKeyWrapBinding, unwrapPrivateKey, wrapPrivateKey } from './ca/key-wrap.ts';
export type { KeyWrapBinding } from './ca/key-wrap.ts';
export { normalizeSerialHex, randomSerial } from './ca/serial.ts';
export type { SerialRandomSource } from './ca/serial.ts';
export { buildUnsignedCertificate, completeCertificate, createRootCertificate, issueCertificate } from './ca/issue.ts';
export type { CreateRootCertificateInput, ExtensionChoices, IssueCertificateInput, IssuedCertificate, IssuerRef, UnsignedCertificate } from './ca/issue.ts';
export { prepareIssuer } from './ca/issuer.ts';
export type { PreparedIssuer } from './ca/issuer.ts';
export { assembleCertificate, buildTbsCertificate } from './ca/certificate.ts';
export type { TbsCertificateInput } from './ca/certificate.ts';
export { KEY_USAGES, keyIdentifier } from './ca/extensions.ts';
export type { AuthorityInfoAccessChoice, BasicConstraintsChoice, ExtKeyUsage, KeyUsage, NameConstraintsChoice } from './ca/extensions.ts';
export type { GeneralNameInput, GeneralNameType } from './ca/general-names.ts';
export { fromPem, pemBlocks, toPem } from './ca/pem.ts';
export type { PemBlock, PemLabel } from './ca/pem.ts';
export { buildCrl, CRL_REASONS } from './ca/crl.ts';
export type { BuildCrlInput, BuiltCrl, CrlReason, RevokedEntry } from './ca/crl.ts';
export { assembleChain, assembleChainPem, chainToPem } from './ca/chain.ts';
export type { ChainOptions } from './ca/chain.ts';
export { CertificateView, viewCertificate } from './ca/view.ts';
export type { BasicConstraintsView } from './ca/view.ts';
// Replicated PKI state machine: events, codec, applyEvent, LevelDB store (state/, state helper)
export * from './state/index.ts';
// Cluster building blocks: routing, PSK proofs, join tokens, cluster map, VIP fencing (cluster/)
export { cidrContains, cidrsOverlap, formatCidr, formatIp, parseCidr, parseIp } from './cluster/ip-address.ts';
export type { Cidr, IpAddress as ClusterIpAddress, IpFamily } from './cluster/ip-address.ts';
export { azOfAddress, decideRoute, parseRoutingTable } from './cluster/routing.ts';
export type { AzRoute, AzRouteInput, KnownLeaders, Receiver, RequestClass, RouteContext, RouteDecision, RouteRequest, RoutingTable } from './cluster/routing.ts';
export { NONCE_BYTES_MAX, NONCE_BYTES_MIN, NonceReplayGuard, PSK_BYTES_MIN, computeCaBundleProof, formatRegistrationProof, parseRegistrationProof, signRegistration, verifyCaBundleProof, verifyRegistration } from './cluster/psk-proof.ts';
export type { CaBundleProofInput, RegistrationClaims, RegistrationProof, RegistrationVerifyOptions } from './cluster/psk-proof.ts';
export { JOIN_TOKEN_BYTES_MAX, JOIN_TOKEN_FILE_ENV, JOIN_TOKEN_KEY_BYTES_MIN, JOIN_TOKEN_TTL_SECONDS_MAX, assertJoinTokenUnused, encodeJoinToken, newJoinTokenClaims, readJoinTokenFile, readJoinTokenFromEnv, verifyJoinToken } from './cluster/join-token.ts';
export type { JoinTokenClaims, JoinTokenVerifyOptions } from './cluster/join-token.ts';
export { AZ_NAME, diffSince, findNode, newClusterMap, withAz, withCaCertificate, withLeaders, withNode, withNodeAddresses, withNodeHealth, withNodeRevoked, withoutAz, withoutCaCertificate, withoutNode, withRoles } from './cluster/cluster-map.ts';
export type { ClusterMap, ClusterMapDiff, MapAz, MapCaCertificate, MapLeaders, MapNode, Membership, NodeRole, NodeStatus } from './cluster/cluster-map.ts';
export { CLUSTER_MAP_AZS_MAX, CLUSTER_MAP_CA_CERTIFICATES_MAX, CLUSTER_MAP_NODES_MAX, clusterMapFromJson } from './cluster/cluster-map-codec.ts';
export { checkHealthPolicy, healthOf, newHealthRecord, recordProbe } from './cluster/node-health.ts';
export type { HealthPolicy, HealthRecord, HealthState } from './cluster/node-health.ts';
export { INITIAL_VIP_FENCE, checkVipFenceConfig, clockDriftBoundMs, stepVipFence, vipFenceWakeAtMs } from './cluster/vip-fence.ts';
export type { VipAction, VipFenceConfig, VipFenceInput, VipFenceState, VipFenceStep } from './cluster/vip-fence.ts';
// CSR parsing, profiles as data, SAN and subject-name policy (ca/, CSR-and-profiles helper)
export { csrMaxBytes, parseCsr } from './ca/csr.ts';
export type { CsrKeyType, ParsedCsr } from './ca/csr.ts';
export { CSR_KEY_TYPES, csrRsaMaxBits, csrRsaMinBits } from './ca/csr-algorithms.ts';
export { BUILTIN_PROFILES, PROFILE_NAMES, builtinProfile, profileFormatVersion } from './ca/profiles.ts';
export type {
  BasicConstraintsPolicy,
  BuiltinProfileName,
  CertificateProfile,
  DomainRules,
  LifetimePolicy,
  NameConstraintsPolicy,
  ProfileSet,
  SanPolicy,
  SubjectPolicy,
} from './ca/profiles.ts';
export { validateProfile, validateProfileSet } from './ca/profile-validate.ts';
export { SAN_TYPES, dedupeSans, isSanType, normalizeSan, parseSanText } from './ca/san.ts';
export type { SanEntry, SanType } from './ca/san.ts';
export { attributeValues, buildName, readName, renderName } from './ca/names.ts';
export type { NameAttribute, NameRdns } from './ca/names.ts';
export { checkSanPolicy, sanRefusal } from './ca/san-policy.ts';
export { notBeforeBackdateSeconds, profileExtensions, resolveIssuance } from './ca/resolve-issuance.ts';
export type { IssuancePlan, IssuanceRequest, IssuerLimits } from './ca/resolve-issuance.ts';
// Node CA services: the PKI operations a node performs, each returning the events to propose (node/ca-*.ts)
export { CA_BACKDATE_SECONDS, caKeyBinding, caSignerFromRecord, caValidity, issuerIdOf, issuerIdOfCertificate } from './node/ca/ca-common.ts';
export type { CaHandle, Validity } from './node/ca/ca-common.ts';
export { azCertificateFields, azInstalledEvent, clusterCreatedEvent, createAzIntermediate, externalRoot, foundCluster } from './node/founding/ca-found.ts';
export { completeOfflineAzIntermediate, prepareOfflineAzIntermediate } from './node/founding/ca-offline-root.ts';
export type { CompleteOfflineAzInput, PendingAzIntermediate, PrepareOfflineAzInput } from './node/founding/ca-offline-root.ts';
export type { CaLifetimes, CreateAzIntermediateInput, CreatedAzIntermediate, FoundClusterInput, FoundedCluster } from './node/founding/ca-found.ts';
export { FileNodeKeyStore, NODE_ICA_KEY_FILE, NODE_TLS_KEY_FILE, buildCsr, endpointHost, generateNodeKeys, hostSan, loadNodeKeys, makeNodeCsrs, nodeUri } from './node/ca/ca-node-keys.ts';
export type { NodeCsrs, NodeKey, NodeKeys, NodeKeyStore } from './node/ca/ca-node-keys.ts';
export { NODE_ICA_RSA_MIN_BITS, signNodeRegistration } from './node/registration/ca-node-registration.ts';
export type { SignedNodeRegistration, SignNodeRegistrationInput } from './node/registration/ca-node-registration.ts';
export { loadProfiles, profileFor } from './node/issuance/ca-profiles.ts';
export type { ProfileTable } from './node/issuance/ca-profiles.ts';
export { issuerChainPem } from './node/ca/ca-chain.ts';
export { issueLeafFromCsr } from './node/issuance/ca-leaf.ts';
export type { IssuedLeaf, IssueLeafInput } from './node/issuance/ca-leaf.ts';
export { CRL_NEXT_UPDATE_SECONDS_MAX, CRL_NEXT_UPDATE_SECONDS_MIN, buildCrlEvent, buildRevocation, nodeRevocations } from './node/ca/ca-revocation.ts';
export type { BuildCrlEventInput, BuildRevocationInput, BuiltCrlEvent, NodeRevocationsInput } from './node/ca/ca-revocation.ts';
// Phase II registration over the PSK proof and join tokens: server and node sides (node/registration*.ts)
export { REGISTRATION_BODY_BYTES_MAX, REGISTRATION_BODY_VERSION, encodeRegistrationBody, parseRegistrationBody } from './node/registration/registration-body.ts';
export type { CaBundleResponseBody, ParsedRegistrationBody, RegistrationRequestBody, RegistrationResponseBody } from './node/registration/registration-body.ts';
export { PSK_AUTH_SCHEME, TOKEN_AUTH_SCHEME, caBundlePem, caBundleResponse, verifyRegistrationRequest } from './node/registration/registration.ts';
export type { AcceptedRegistration, CaBundleResponseInput, VerifyRegistrationInput } from './node/registration/registration.ts';
export { CA_BUNDLE_CERTIFICATES_MAX, buildRegistrationRequest, readRegistrationResponse, registrationResponse, verifyCaBundle } from './node/registration/registration-client.ts';
export type { BuildRegistrationInput, BuiltRegistrationRequest, VerifiedCaBundle } from './node/registration/registration-client.ts';
// The cluster node: PkiNode (library API), its application under the two tiers, peers, VIPs.
export { PkiNode, type PkiNodeOptions, type PkiNodeStart } from './node/pki-node.ts';
export type { IssuedJoinToken, JoinTokenRequest } from './node/admin/admin-services.ts';
export type { AzDeclaration, DeclaredAz } from './node/admin/az-admin.ts';
export { checkAzName, checkAzSpec } from './node/admin/az-spec.ts';
export type { CaBundle, IssuedLeaf as IssuedLeafResult, IssueRequest, PkiNodeApi, PkiNodeStatus, PkiRoleEvent, RenewRequest, RevokeRequest, TierStatus } from './node/pki-node-api.ts';
export type { PeerClient, PeerRequest, PeerResponse, RemovedAz, RemovedNode } from './node/peer/protocol.ts';
export { PkiApplication, tierOfEvent, type PkiApplyResult } from './node/core/pki-application.ts';
export { DEFAULT_CLOCK_RATE_ERROR, DEFAULT_RELEASE_HOOK_MS, VipManager, type VipHookLike, type VipSettings } from './node/vip/vip-manager.ts';
export { parseSans } from './node/issuance/issuance.ts';
export { discover, type DiscoveryDecision, type DiscoveryOptions, type ProbeAnswer } from './node/founding/discovery.ts';
export { asPkiCode } from './node/core/event-proposer.ts';
