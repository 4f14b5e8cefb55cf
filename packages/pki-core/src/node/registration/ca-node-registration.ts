// The AZ local leader's half of node registration (docs/architecture.md §5.4): from the node's two
// CSRs, its node ICA certificate (profile nodeIntermediate, pathLen 0) and its TLS certificate
// (profile serverClientLeaf), both signed by the AZ ICA, and the events that record them.
//
// The CSRs contribute only their public keys and, for TLS, the IP/DNS names the node claims for
// itself: subjects and extensions are decided here, so a node cannot ask for a CA certificate of
// another shape or for another node's identity URI.
import { parseCsr, type ParsedCsr } from '../../ca/csr.ts';
import { bytesEqual } from '../../ca/der.ts';
import type { GeneralNameInput } from '../../ca/general-names.ts';
import { issueCertificate } from '../../ca/issue.ts';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { buildName, escapeValue } from '../../ca/names.ts';
import { BUILTIN_PROFILES, type CertificateProfile } from '../../ca/profiles.ts';
import { normalizeSan } from '../../ca/san.ts';
import { randomSerial, type SerialRandomSource } from '../../ca/serial.ts';
import { PkiError } from '../../errors.ts';
import type { CaCertificateInstalledEvent, NodeAddresses, NodeRegisteredEvent } from '../../state/events.ts';
import { caValidity, checkNow, issuerIdOf, notAfterMsOf, type CaHandle } from '../ca/ca-common.ts';
import { withIssuerUrls } from '../ca/issuer-urls.ts';
import { profileExtensions } from '../../ca/resolve-issuance.ts';
import { endpointHost, hostSan, nodeUri } from '../ca/ca-node-keys.ts';

/** NIST SP 800-57 Part 1 Rev. 5: RSA keys that sign certificates past 2030 need ≥ 3072 bits. */
const NODE_ICA_RSA_MIN_BITS = 3072;

export interface SignNodeRegistrationInput {
  /** The AZ ICA of the node's AZ, its key unwrapped by the local leader (`caSignerFromRecord`). */
  readonly azIca: CaHandle;
  readonly icaCsrDer: Uint8Array;
  readonly tlsCsrDer: Uint8Array;
  readonly nodeId: string;
  readonly az: string;
  readonly addresses: NodeAddresses;
  readonly nowMs: number;
  readonly serials: SerialRandomSource;
  readonly icaLifetimeSeconds?: number;
  readonly tlsLifetimeSeconds?: number;
  /** The node's AZ public HTTP base URL: both certificates then name the AZ ICA's CRL and certificate there. */
  readonly publicBaseUrl?: string;
  /** Partition CRLs of the node ICA (state/crl-partitions.ts); 0 or absent: one unpartitioned CRL. */
  readonly crlPartitions?: number;
  /**
   * The VIPs the node may hold (its AZ's local VIP, the cluster VIP): its TLS certificate names
   * them as IP SANs, so a client that dials a VIP verifies the name it dialled (RFC 6125 §6).
   */
  readonly vips?: readonly string[];
}

export interface SignedNodeRegistration {
  readonly icaCertDer: Uint8Array;
  readonly icaIssuerId: string;
  readonly tlsCertDer: Uint8Array;
  /** In log order: the node CA, then the node that uses it. */
  readonly events: readonly [CaCertificateInstalledEvent, NodeRegisteredEvent];
}

/**
 * A node TLS certificate lives 2 years unless the caller asks otherwise: it is a CA-held
 * credential the node renews itself (node/ca), not a customer leaf, so the short customer-leaf
 * default of its profile (ca/profiles.ts serverClientLeaf) does not apply to it.
 */
export const NODE_TLS_LIFETIME_SECONDS = 2 * 365 * 24 * 3600;

export async function signNodeRegistration(input: SignNodeRegistrationInput): Promise<SignedNodeRegistration> {
  checkNow(input.nowMs);
  const icaCsr = parseCsr(input.icaCsrDer);
  const tlsCsr = parseCsr(input.tlsCsrDer);
  // One key, one job: a TLS key that could also sign certificates would widen what a leaked TLS key gives.
  if (bytesEqual(icaCsr.spkiDer, tlsCsr.spkiDer)) {
    throw new PkiError('ERR_INPUT_INVALID', 'the node ICA and TLS CSRs carry the same key', { field: 'tlsCsr' });
  }
  const ica = await signNodeIca({ ...input, csr: icaCsr, ...optionalLifetime(input.icaLifetimeSeconds) });
  const tls = await signNodeTls({ ...input, csr: tlsCsr, vips: input.vips ?? [], ...optionalLifetime(input.tlsLifetimeSeconds) });
  const registered: NodeRegisteredEvent = {
    type: 'NodeRegistered',
    nodeId: input.nodeId,
    az: input.az,
    addresses: { api: input.addresses.api, raft: input.addresses.raft },
    tlsCertDer: tls,
    icaIssuerId: ica.event.issuerId,
    at: input.nowMs,
  };
  return { icaCertDer: ica.event.certDer, icaIssuerId: ica.event.issuerId, tlsCertDer: tls, events: [ica.event, registered] };
}

function optionalLifetime(lifetimeSeconds: number | undefined): { lifetimeSeconds?: number } {
  return lifetimeSeconds === undefined ? {} : { lifetimeSeconds };
}

/** What signing one of a node's certificates with its AZ ICA takes (registration and renewal, node/ca/node-renewal.ts). */
export interface NodeCertificateInput {
  readonly azIca: CaHandle;
  readonly csr: ParsedCsr;
  readonly nodeId: string;
  readonly az: string;
  readonly nowMs: number;
  readonly serials: SerialRandomSource;
  readonly lifetimeSeconds?: number;
  readonly publicBaseUrl?: string;
  /** Recorded with a node ICA (state/crl-partitions.ts); 0 or absent: one unpartitioned CRL. */
  readonly crlPartitions?: number;
}

/** The node ICA certificate (profile nodeIntermediate, pathLen 0, cut to the AZ ICA's end) and the event that installs it. */
export async function signNodeIca(input: NodeCertificateInput): Promise<{ event: CaCertificateInstalledEvent }> {
  const profile = BUILTIN_PROFILES.nodeIntermediate;
  checkKey(input.csr, profile, 'icaCsr');
  const { notAfter, notBefore } = readCertificateFields(input.azIca.cert);
  const id = escapeValue(input.nodeId);
  const ica = await issueCertificate({
    issuer: { certDer: input.azIca.cert, signer: input.azIca.signer },
    subjectDer: buildName(`CN=Adrestia node ${id} ICA,OU=${escapeValue(input.az)}`, 'nodeId'),
    spkiDer: input.csr.spkiDer,
    serial: randomSerial(input.serials),
    ...caValidity(profile, input.nowMs, input.lifetimeSeconds, notAfter, notBefore),
    extensions: withIssuerUrls(profileExtensions(profile), input.publicBaseUrl, input.azIca.issuerId),
  });
  const event: CaCertificateInstalledEvent = {
    type: 'CaCertificateInstalled',
    issuerId: issuerIdOf(input.csr.spkiDer),
    parentIssuerId: input.azIca.issuerId,
    role: 'node',
    az: input.az,
    nodeId: input.nodeId,
    certDer: ica.der,
    serialHex: ica.serialHex,
    notAfter: notAfterMsOf(ica.der),
    ...(input.crlPartitions === undefined || input.crlPartitions === 0 ? {} : { crlPartitions: input.crlPartitions }),
    at: input.nowMs,
  };
  return { event };
}

/** The node's TLS certificate (profile serverClientLeaf, SANs by `tlsSans`, cut to the AZ ICA's end). */
export async function signNodeTls(input: NodeCertificateInput & { readonly addresses: NodeAddresses; readonly vips: readonly string[] }): Promise<Uint8Array> {
  const profile = BUILTIN_PROFILES.serverClientLeaf;
  checkKey(input.csr, profile, 'tlsCsr');
  const { notAfter, notBefore } = readCertificateFields(input.azIca.cert);
  const tls = await issueCertificate({
    issuer: { certDer: input.azIca.cert, signer: input.azIca.signer },
    subjectDer: buildName(`CN=${escapeValue(input.nodeId)},OU=${escapeValue(input.az)}`, 'nodeId'),
    spkiDer: input.csr.spkiDer,
    sans: tlsSans(input.csr, input.nodeId, input.addresses, input.vips),
    serial: randomSerial(input.serials),
    ...caValidity(profile, input.nowMs, input.lifetimeSeconds ?? NODE_TLS_LIFETIME_SECONDS, notAfter, notBefore),
    extensions: withIssuerUrls(profileExtensions(profile), input.publicBaseUrl, input.azIca.issuerId),
  });
  return tls.der;
}

function checkKey(csr: ParsedCsr, profile: CertificateProfile, field: string): void {
  if (!profile.allowedKeyTypes.includes(csr.keyType)) {
    throw new PkiError('ERR_KEY_UNSUPPORTED', `${field}: ${csr.keyType} keys are not allowed by profile ${profile.name}`, { field });
  }
  if (profile.basicConstraints.ca && csr.keyType === 'rsa' && (csr.rsaBits ?? 0) < NODE_ICA_RSA_MIN_BITS) {
    throw new PkiError('ERR_KEY_TOO_WEAK', `${field}: a CA key needs RSA ≥ ${NODE_ICA_RSA_MIN_BITS} bits`, { field });
  }
}

/**
 * The TLS certificate's SANs: the node's URI, the hosts of its registered endpoints, the VIPs it
 * may hold, and the IP/DNS names its CSR asks for (a node authenticated by the cluster PSK or a join token may name
 * its own addresses, e.g. behind NAT). Any other URI, or an email, is refused.
 */
function tlsSans(csr: ParsedCsr, nodeId: string, addresses: NodeAddresses, vips: readonly string[]): GeneralNameInput[] {
  const uri = nodeUri(nodeId);
  const out: GeneralNameInput[] = [{ type: 'uri', value: uri }];
  const seen = new Set<string>([`uri:${uri}`]);
  const add = (san: GeneralNameInput): void => {
    const key = `${san.type}:${san.value}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(san);
    }
  };
  for (const endpoint of [addresses.api, addresses.raft]) add(normalizeSan(hostSan(endpointHost(endpoint)), 'addresses'));
  for (const vip of vips) add(normalizeSan({ type: 'ip', value: vip }, 'vips'));
  csr.requestedSans.forEach((san, i) => {
    const field = `tlsCsr.sans[${i}]`;
    if (san.type === 'uri' && san.value === uri) return;
    if (san.type !== 'dns' && san.type !== 'ip') {
      throw new PkiError('ERR_SAN_FORBIDDEN', `${field}: a node TLS certificate names the node only by ${uri}`, { field });
    }
    const normalized = normalizeSan(san, field);
    if (normalized.value.startsWith('*.')) throw new PkiError('ERR_SAN_FORBIDDEN', `${field}: no wildcard names for a node`, { field });
    add(normalized);
  });
  if (csr.unsupportedSanTypes.length > 0) {
    throw new PkiError('ERR_SAN_FORBIDDEN', `tlsCsr: SAN forms ${csr.unsupportedSanTypes.join(', ')} are not issued`, { field: 'tlsCsr.sans' });
  }
  return out;
}
