// Leaf issuance from a CSR on a node (docs/architecture.md §4.3: each node signs leaves with its
// own node ICA, so issuance needs no shared key). The result is an `Issued` event to propose; the
// certificate goes back to its requester only once that event is committed.
//
// Idempotent retries: the request's identity (requester, key, SANs, profile) gives the
// idempotency key; a certificate already issued under it inside the cluster's window is returned
// instead of signing again. Two racing requests may both sign; the state machine keeps the first
// and answers the second with `duplicate: true` and the first certificate (apply-certs.ts).
//
// Fast path: the CSR is read and verified with the DER reader and node:crypto, the certificate
// is concatenated from memoized pieces (issue.ts), and the chain comes from a cache.
import { createHash } from 'node:crypto';
import { authorityKeyIdOf, type CertificateFields } from '../../ca/cert-fields.ts';
import { parseCsr } from '../../ca/csr.ts';
import { toHex } from '../../ca/der.ts';
import { issueCertificate } from '../../ca/issue.ts';
import { toPem } from '../../ca/pem.ts';
import { resolveIssuance, type IssuancePlan } from '../../ca/resolve-issuance.ts';
import type { SanEntry } from '../../ca/san.ts';
import { randomSerial, type SerialRandomSource } from '../../ca/serial.ts';
import { PkiError } from '../../errors.ts';
import type { IssuedEvent, RenewalCharge } from '../../state/events.ts';
import { LIMITS } from '../../state/fields.ts';
import { crlPartitionOf } from '../../state/crl-partitions.ts';
import { idempotencyKey } from '../../state/idempotency.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { LeafCertificateRecord } from '../../state/records.ts';
import { checkNow, type CaHandle } from '../ca/ca-common.ts';
import { issuerChainPem } from '../ca/ca-chain.ts';
import { checkClusterNames, profileFor, type ProfileTable } from './ca-profiles.ts';
import { refuseRenewalIfLimited } from '../provisioners/rate-limit-refusal.ts';
import { prepareIssuer } from '../../ca/issuer.ts';
import { withIssuerUrls, type IndirectCrlIssuer } from '../ca/issuer-urls.ts';
import { checkNoReservedSans, type ReservedNames } from '../ca/reserved-names.ts';

export interface IssueLeafInput {
  /** This node's ICA (its key from the node's 0400 key file). */
  readonly nodeIca: CaHandle;
  /** The CSR as DER or PEM; give exactly one. */
  readonly csrDer?: Uint8Array;
  readonly csrPem?: string;
  readonly profileName: string;
  /** Loaded profiles (`loadProfiles`); omitted: looked up in the store, then built in. */
  readonly profiles?: ProfileTable;
  /** Replaces the CSR's SANs (an operator's or provisioner's decision). */
  readonly requestedSans?: readonly SanEntry[];
  readonly lifetimeSeconds?: number;
  /** An RFC 4514 subject replacing the CSR's. */
  readonly subject?: string;
  /** Who asks (account, provisioner, node); part of the idempotency key. */
  readonly requester: string;
  readonly nowMs: number;
  readonly serials: SerialRandomSource;
  readonly store: PkiStateQueries;
  /**
   * The HTTP base URL where relying parties reach this AZ's public endpoints (its local VIP):
   * leaves then carry the node ICA's CRL (RFC 5280 §4.2.1.13) and certificate (AIA caIssuers,
   * §4.2.2.1) under it, at the paths the server serves (`/crl/<issuer>.crl`, `/ca/<issuer>.crt`).
   */
  readonly publicBaseUrl?: string;
  /** Hosts and VIPs of the cluster's nodes (`reservedNames`): a leaf naming one is refused. */
  readonly reserved: ReservedNames;
  /** A renewal charged to a provisioner's buckets on apply (`Issued.renewalCharge`). */
  readonly renewalCharge?: RenewalCharge;
}

export interface IssuedLeaf {
  /** To propose; for a retried request, the committed event as it was (proposing it again is harmless). */
  readonly event: IssuedEvent;
  readonly certDer: Uint8Array;
  /** Leaf, node ICA, AZ ICA (no root). */
  readonly chainPem: string;
  /** True when an earlier certificate was returned and nothing was signed. */
  readonly existing: boolean;
}

export async function issueLeafFromCsr(input: IssueLeafInput): Promise<IssuedLeaf> {
  checkNow(input.nowMs);
  const csr = parseCsr(csrInput(input));
  const ca = await input.store.getCa(input.nodeIca.issuerId);
  if (ca === undefined) throw new PkiError('ERR_ISSUER_UNKNOWN', `node CA ${input.nodeIca.issuerId} is not in the state`, { field: 'nodeIca' });
  if (ca.revokedAt !== null) throw new PkiError('ERR_NODE_REVOKED', `node CA ${ca.issuerId} is revoked and signs nothing`, { field: 'nodeIca' });
  const profile = await profileFor(input.profileName, input.store, input.profiles);
  // docs/architecture.md §4.2: node ICAs sign leaves only (pathLen 0); CA certificates come from
  // the AZ ICA.
  if (profile.basicConstraints.ca) {
    throw new PkiError('ERR_PROFILE_INVALID', `profile ${profile.name} makes CA certificates; a node issues leaves only`, { field: 'profile' });
  }
  // Memoized per (certificate, signer): the issuer's Name, AKI and validity are lifted once.
  const issuer = prepareIssuer(input.nodeIca.cert, input.nodeIca.signer);
  const plan = resolveIssuance(
    profile,
    {
      csr,
      ...(input.requestedSans === undefined ? {} : { sans: input.requestedSans }),
      ...(input.lifetimeSeconds === undefined ? {} : { lifetimeSeconds: input.lifetimeSeconds }),
      ...(input.subject === undefined ? {} : { subject: input.subject }),
    },
    { notAfter: issuer.notAfter, notBefore: issuer.fields.notBefore },
    new Date(input.nowMs),
  );
  checkNoReservedSans(plan.sans, input.reserved);
  await checkClusterNames(profile, plan.sans, input.store);
  const sans = eventSans(plan);
  const publicKeyHash = createHash('sha256').update(plan.spkiDer).digest('hex');
  const key = idempotencyKey(input.requester, publicKeyHash, sans, plan.profileName);
  const prior = await input.store.findIdempotent(key, input.nowMs);
  if (prior !== undefined) return retried(prior, input.store);
  // After the idempotency check: a retried renewal gets its certificate even with its buckets empty.
  if (input.renewalCharge !== undefined) await refuseRenewalIfLimited(input.store, input.renewalCharge, input.nowMs);
  const serial = randomSerial(input.serials);
  // A node ICA with partition CRLs names the one that lists this serial (state/crl-partitions.ts).
  const partition = ca.crlPartitions === undefined ? undefined : crlPartitionOf(serial, ca.crlPartitions);
  const cert = await issueCertificate({
    issuer,
    subjectDer: plan.subjectDer,
    spkiDer: plan.spkiDer,
    sans: plan.sans,
    serial,
    notBefore: plan.notBefore,
    notAfter: plan.notAfter,
    extensions: withIssuerUrls(plan.extensions, input.publicBaseUrl, input.nodeIca.issuerId, indirectCrlIssuerOf(issuer.fields), partition),
  });
  const event: IssuedEvent = {
    type: 'Issued',
    issuerId: input.nodeIca.issuerId,
    serialHex: cert.serialHex,
    certDer: cert.der,
    notAfter: plan.notAfter.getTime(),
    subject: plan.subject,
    sans,
    profile: plan.profileName,
    requester: input.requester,
    publicKeyHash,
    idempotencyKey: key,
    ...(input.renewalCharge === undefined ? {} : { renewalCharge: { ...input.renewalCharge } }),
    at: input.nowMs,
  };
  return { event, certDer: cert.der, chainPem: cert.pem + (await issuerChainPem(input.store, input.nodeIca.issuerId)), existing: false };
}

// Per node ICA certificate (prepareIssuer memoizes its fields), so issuance does not parse it again.
const indirectCrlIssuers = new WeakMap<CertificateFields, IndirectCrlIssuer | null>();

/** The AZ ICA above the node ICA (its AKI and issuer name), whose indirect CRL lists this node's leaves too. */
function indirectCrlIssuerOf(nodeIca: CertificateFields): IndirectCrlIssuer | undefined {
  let found = indirectCrlIssuers.get(nodeIca);
  if (found === undefined) {
    const keyId = authorityKeyIdOf(nodeIca);
    found = keyId === undefined ? null : { issuerId: toHex(keyId), nameDer: nodeIca.issuerNameDer };
    indirectCrlIssuers.set(nodeIca, found);
  }
  return found ?? undefined;
}

function csrInput(input: IssueLeafInput): Uint8Array | string {
  if ((input.csrDer === undefined) === (input.csrPem === undefined)) throw new TypeError('issueLeafFromCsr: give exactly one of csrDer and csrPem');
  return input.csrDer ?? input.csrPem!;
}

/** SANs as the event records them (`dns:example.com`), within the event codec's limits. */
function eventSans(plan: IssuancePlan): string[] {
  if (plan.sans.length > LIMITS.maxSans) {
    throw new PkiError('ERR_SAN_FORBIDDEN', `at most ${LIMITS.maxSans} SANs are recorded per certificate`, { field: 'sans' });
  }
  return plan.sans.map((san, i) => {
    const text = `${san.type}:${san.value}`;
    if (text.length > LIMITS.maxSanChars) {
      throw new PkiError('ERR_SAN_INVALID', `sans[${i}]: longer than ${LIMITS.maxSanChars} characters`, { field: `sans[${i}]` });
    }
    return text;
  });
}

async function retried(prior: LeafCertificateRecord, store: PkiStateQueries): Promise<IssuedLeaf> {
  const event: IssuedEvent = {
    type: 'Issued',
    issuerId: prior.issuerId,
    serialHex: prior.serialHex,
    certDer: prior.certDer,
    notAfter: prior.notAfter,
    subject: prior.subject,
    sans: [...prior.sans],
    profile: prior.profile,
    requester: prior.requester,
    publicKeyHash: prior.publicKeyHash,
    idempotencyKey: prior.idempotencyKey,
    at: prior.issuedAt,
  };
  return { event, certDer: prior.certDer, chainPem: toPem(prior.certDer) + (await issuerChainPem(store, prior.issuerId)), existing: true };
}
