// Founding the hierarchy (docs/architecture.md §4.2: root → AZ ICA → node ICA → leaves): the root
// and the first AZ ICA when a node founds the cluster, and an AZ ICA for each AZ founded later.
// Keys are generated here and leave only wrapped under the operator's KEK (AES-256-GCM,
// key-wrap.ts), inside the events; the caller gets the in-memory signers for the roles it now
// holds.
import { generateCaKeyPair, defaultCaKeyType, type CaKeyType, type KeyPairGenerator } from '../../ca/keys.ts';
import { createRootCertificate, issueCertificate, type IssueCertificateInput } from '../../ca/issue.ts';
import { buildName, escapeValue } from '../../ca/names.ts';
import { randomSerial, type SerialRandomSource } from '../../ca/serial.ts';
import { KeyObjectSigner, type Signer } from '../../ca/signer.ts';
import { prepareIssuer } from '../../ca/issuer.ts';
import { bytesEqual } from '../../ca/der.ts';
import { PkiError } from '../../errors.ts';
import { wrapPrivateKey } from '../../ca/key-wrap.ts';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { BUILTIN_PROFILES } from '../../ca/profiles.ts';
import { DEFAULT_CLUSTER_SETTINGS, type AzAddedEvent, type AzSpec, type CaCertificateInstalledEvent, type ClusterCreatedEvent, type ClusterSettings } from '../../state/events.ts';
import { withIssuerUrls } from '../ca/issuer-urls.ts';
import { caKeyBinding, caValidity, checkNow, issuerIdOf, notAfterMsOf, type CaHandle } from '../ca/ca-common.ts';
import { profileExtensions } from '../../ca/resolve-issuance.ts';

/** Lifetimes of the founding CA certificates; each defaults to its built-in profile's default. */
interface CaLifetimes {
  readonly rootSeconds?: number;
  readonly azSeconds?: number;
}

export interface FoundClusterInput {
  /** UUID of the new cluster. */
  readonly clusterId: string;
  /** RFC 4514 subject of a generated root; default `CN=Adrestia Root CA,OU=<clusterId>`. */
  readonly rootSubject?: string;
  /**
   * A root whose key is held outside the cluster (an HSM, another process: any `Signer`). Its
   * certificate is installed without a key (docs/architecture.md §4.2, docs/spec.md §5.4: an
   * externally signed root is possible); only this call uses the signer, to sign the first AZ ICA.
   */
  readonly externalRoot?: { readonly cert: Uint8Array; readonly signer: Signer };
  /** The founding node's AZ. */
  readonly azSpec: AzSpec;
  readonly keyType?: CaKeyType;
  /** Makes the root and AZ ICA keys; default `generateCaKeyPair`. */
  readonly generateKey?: KeyPairGenerator;
  /** The cluster VIP's public HTTP base URL: the first AZ ICA names the root's CRL and certificate there. */
  readonly rootPublicBaseUrl?: string;
  /** The operator's 32-byte key-encryption key. */
  readonly kek: Uint8Array;
  readonly nowMs: number;
  readonly serials: SerialRandomSource;
  readonly lifetimes?: CaLifetimes;
  readonly settings?: ClusterSettings;
}

export interface FoundedCluster {
  readonly root: CaHandle;
  readonly azIca: CaHandle;
  /** In log order: ClusterCreated, AzAdded, CaCertificateInstalled (AZ ICA). */
  readonly events: readonly [ClusterCreatedEvent, AzAddedEvent, CaCertificateInstalledEvent];
}

/**
 * Generates the root key and self-signed root (profile `root`) — or takes an external root —,
 * the first AZ ICA (profile `azIntermediate`, pathLen 1), and the events that record them.
 * Nothing is proposed here.
 */
export async function foundCluster(input: FoundClusterInput): Promise<FoundedCluster> {
  checkNow(input.nowMs);
  const keyType = input.keyType ?? defaultCaKeyType;
  const made = input.externalRoot === undefined ? await makeRoot(input, keyType) : { root: externalRoot(input.externalRoot), wrappedRootKey: undefined };
  const { root } = made;
  const clusterCreated = clusterCreatedEvent({ clusterId: input.clusterId, root, wrappedRootKey: made.wrappedRootKey, settings: input.settings, nowMs: input.nowMs });
  const azAdded: AzAddedEvent = { type: 'AzAdded', az: copyAz(input.azSpec), at: input.nowMs };
  const az = await createAzIntermediate({
    root,
    az: input.azSpec.name,
    clusterId: input.clusterId,
    kek: input.kek,
    nowMs: input.nowMs,
    serials: input.serials,
    keyType,
    ...(input.generateKey === undefined ? {} : { generateKey: input.generateKey }),
    ...(input.rootPublicBaseUrl === undefined ? {} : { rootPublicBaseUrl: input.rootPublicBaseUrl }),
    ...(input.lifetimes?.azSeconds === undefined ? {} : { lifetimeSeconds: input.lifetimes.azSeconds }),
  });
  return { root, azIca: az.azIca, events: [clusterCreated, azAdded, az.event] };
}

async function makeRoot(input: FoundClusterInput, keyType: CaKeyType): Promise<{ root: CaHandle; wrappedRootKey: Uint8Array }> {
  const profile = BUILTIN_PROFILES.root;
  const key = await (input.generateKey ?? generateCaKeyPair)(keyType);
  const signer = new KeyObjectSigner(key.privateKey);
  const pathLen = profile.basicConstraints.pathLen;
  const cert = await createRootCertificate({
    signer,
    subjectDer: buildName(input.rootSubject ?? `CN=Adrestia Root CA,OU=${escapeValue(input.clusterId)}`, 'rootSubject'),
    serial: randomSerial(input.serials),
    ...caValidity(profile, input.nowMs, input.lifetimes?.rootSeconds),
    // The default hierarchy root → AZ ICA → node ICA → leaf needs no limit at the root.
    ...(pathLen === null ? {} : { pathLen }),
  });
  const issuerId = issuerIdOf(key.spkiDer);
  return { root: { cert: cert.der, signer, issuerId }, wrappedRootKey: wrapPrivateKey(key.privateKey, input.kek, caKeyBinding('root', issuerId)) };
}

/** Root → AZ ICA → node ICA: a root must allow two CA certificates below it (RFC 5280 §4.2.1.9). */
const ROOT_PATH_LEN_MIN = 2;

/** Checks a root held outside the cluster; its id is its key identifier like any CA's. */
function externalRoot(root: { cert: Uint8Array; signer: Signer }): CaHandle {
  // Checks the signer's key is the certificate's and that it is a CA (ERR_SIGNER_MISMATCH, TypeError).
  const prepared = prepareIssuer(root.cert, root.signer);
  if (!bytesEqual(prepared.fields.issuerNameDer, prepared.fields.subjectNameDer)) {
    throw new PkiError('ERR_INPUT_INVALID', 'the external root certificate is not self-issued', { field: 'externalRoot.cert' });
  }
  if (prepared.pathLen !== undefined && prepared.pathLen < ROOT_PATH_LEN_MIN) {
    throw new PkiError('ERR_INPUT_INVALID', `the external root's pathLenConstraint ${prepared.pathLen} leaves no room for AZ and node ICAs`, {
      field: 'externalRoot.cert',
    });
  }
  return { cert: root.cert, signer: root.signer, issuerId: issuerIdOf(prepared.fields.spkiDer) };
}

/** `ClusterCreated` for a root; without `wrappedRootKey` the root key is held outside the cluster. */
export function clusterCreatedEvent(input: {
  clusterId: string;
  root: { cert: Uint8Array; issuerId: string };
  wrappedRootKey?: Uint8Array | undefined;
  settings?: ClusterSettings | undefined;
  nowMs: number;
}): ClusterCreatedEvent {
  return {
    type: 'ClusterCreated',
    clusterId: input.clusterId,
    rootIssuerId: input.root.issuerId,
    rootCertDer: input.root.cert,
    rootSerialHex: readCertificateFields(input.root.cert).serialHex,
    rootNotAfter: notAfterMsOf(input.root.cert),
    ...(input.wrappedRootKey === undefined ? {} : { wrappedRootKey: input.wrappedRootKey }),
    settings: { ...(input.settings ?? DEFAULT_CLUSTER_SETTINGS) },
    createdAt: input.nowMs,
  };
}

function copyAz(az: AzSpec): AzSpec {
  return { name: az.name, subnets: [...az.subnets], localVip: az.localVip };
}

export interface CreateAzIntermediateInput {
  /** The root (its key unwrapped in memory by the global leader: `caSignerFromRecord`). */
  readonly root: CaHandle;
  readonly az: string;
  /** Written into the subject (OU) so AZ ICAs of different clusters are told apart. */
  readonly clusterId: string;
  readonly kek: Uint8Array;
  readonly nowMs: number;
  readonly serials: SerialRandomSource;
  readonly keyType?: CaKeyType;
  /** Makes the AZ ICA key; default `generateCaKeyPair`. */
  readonly generateKey?: KeyPairGenerator;
  readonly lifetimeSeconds?: number;
  /** The cluster VIP's public HTTP base URL: the AZ ICA then names the root's CRL and certificate there. */
  readonly rootPublicBaseUrl?: string;
}

export interface CreatedAzIntermediate {
  readonly azIca: CaHandle;
  readonly event: CaCertificateInstalledEvent;
}

/**
 * An AZ ICA for `az`, signed by the root (profile `azIntermediate`: pathLen 1, it signs node
 * ICAs that sign only leaves). Its key is wrapped under the KEK into the event, so whichever node
 * becomes the AZ's local leader can unwrap it. The `AzAdded` event must precede it in the log.
 */
export async function createAzIntermediate(input: CreateAzIntermediateInput): Promise<CreatedAzIntermediate> {
  checkNow(input.nowMs);
  const key = await (input.generateKey ?? generateCaKeyPair)(input.keyType ?? defaultCaKeyType);
  const cert = await issueCertificate({
    issuer: { certDer: input.root.cert, signer: input.root.signer },
    ...azCertificateFields({ ...input, rootCert: input.root.cert, rootIssuerId: input.root.issuerId, spkiDer: key.spkiDer }),
  });
  const issuerId = issuerIdOf(key.spkiDer);
  const event = azInstalledEvent({
    issuerId,
    rootIssuerId: input.root.issuerId,
    az: input.az,
    certDer: cert.der,
    wrappedKey: wrapPrivateKey(key.privateKey, input.kek, caKeyBinding('az', issuerId)),
    nowMs: input.nowMs,
  });
  return { azIca: { cert: cert.der, signer: new KeyObjectSigner(key.privateKey), issuerId }, event };
}

/** Everything of an AZ ICA certificate but its issuer: subject, key, serial, validity, extensions. */
export function azCertificateFields(input: {
  rootCert: Uint8Array;
  az: string;
  clusterId: string;
  spkiDer: Uint8Array;
  nowMs: number;
  serials: SerialRandomSource;
  lifetimeSeconds?: number;
  rootIssuerId?: string;
  rootPublicBaseUrl?: string;
}): Omit<IssueCertificateInput, 'issuer'> {
  const profile = BUILTIN_PROFILES.azIntermediate;
  const root = readCertificateFields(input.rootCert);
  return {
    subjectDer: buildName(`CN=Adrestia AZ ${escapeValue(input.az)} ICA,OU=${escapeValue(input.clusterId)}`, 'az'),
    spkiDer: input.spkiDer,
    serial: randomSerial(input.serials),
    ...caValidity(profile, input.nowMs, input.lifetimeSeconds, root.notAfter, root.notBefore),
    extensions:
      input.rootIssuerId === undefined ? profileExtensions(profile) : withIssuerUrls(profileExtensions(profile), input.rootPublicBaseUrl, input.rootIssuerId),
  };
}

export function azInstalledEvent(input: {
  issuerId: string;
  rootIssuerId: string;
  az: string;
  certDer: Uint8Array;
  wrappedKey: Uint8Array;
  nowMs: number;
}): CaCertificateInstalledEvent {
  return {
    type: 'CaCertificateInstalled',
    issuerId: input.issuerId,
    parentIssuerId: input.rootIssuerId,
    role: 'az',
    az: input.az,
    certDer: input.certDer,
    wrappedKey: input.wrappedKey,
    serialHex: readCertificateFields(input.certDer).serialHex,
    notAfter: notAfterMsOf(input.certDer),
    at: input.nowMs,
  };
}
