// The certificates of a root rollover (root-rollover.ts, docs/architecture.md §19.1): the new
// root, its sealed key, and the cross certificates between it and the previous root (RFC 4158
// §2.3), built from explicit time, serials and signers so the offline steps
// (root-rollover-offline.ts) build the same certificates as an online rollover.
import { generateCaKeyPair, type CaKeyType, type KeyPairGenerator } from '../../ca/keys.ts';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { createRootCertificate, issueCertificate, type IssueCertificateInput } from '../../ca/issue.ts';
import { wrapPrivateKey } from '../../ca/key-wrap.ts';
import { buildName, escapeValue } from '../../ca/names.ts';
import { BUILTIN_PROFILES } from '../../ca/profiles.ts';
import { profileExtensions } from '../../ca/resolve-issuance.ts';
import { randomSerial, type SerialRandomSource } from '../../ca/serial.ts';
import { KeyObjectSigner } from '../../ca/signer.ts';
import { PkiError } from '../../errors.ts';
import type { CrossCertificate, RootRolledOverEvent } from '../../state/events.ts';
import { caKeyBinding, caValidity, checkNow, issuerIdOf, notAfterMsOf, type CaHandle } from './ca-common.ts';
import { withIssuerUrls } from './issuer-urls.ts';

export interface BuildRootRolloverInput {
  /** The cluster's current root: its key unwrapped in memory (`caSignerFromRecord`), or an `offlineSigner` (root-rollover-offline.ts). */
  readonly previous: CaHandle;
  /** RFC 4514 subject of the new root; it must differ from the previous root's so names chain unambiguously. */
  readonly rootSubject: string;
  readonly kek: Uint8Array;
  readonly nowMs: number;
  readonly serials: SerialRandomSource;
  readonly keyType: CaKeyType;
  readonly generateKey?: KeyPairGenerator;
  /** The cluster VIP's public HTTP base URL: each cross certificate then names its signer's CRL and certificate. */
  readonly rootPublicBaseUrl?: string;
  readonly rootLifetimeSeconds?: number;
}

/** The new root, before any cross certificate: its handle, certificate, sealed key, and how long a cross certificate may last. */
export interface RolledRoot {
  readonly root: CaHandle;
  readonly serialHex: string;
  readonly wrappedRootKey: Uint8Array;
  /** A cross certificate is of no use past either root's end: it lasts as long as both do. */
  readonly bothEnd: Date;
}

/** The default subject of the `generation`-th root of a cluster (the first is founding/ca-found.ts's). */
export function rolledRootSubject(clusterId: string, generation: number): string {
  return `CN=Adrestia Root CA G${generation},OU=${escapeValue(clusterId)}`;
}

/** A new root key and self-signed certificate, the key sealed under the KEK; nothing is proposed here. */
export async function makeRolledRoot(input: BuildRootRolloverInput): Promise<RolledRoot> {
  checkNow(input.nowMs);
  const profile = BUILTIN_PROFILES.root;
  const key = await (input.generateKey ?? generateCaKeyPair)(input.keyType);
  const signer = new KeyObjectSigner(key.privateKey);
  const subjectDer = buildName(input.rootSubject, 'rootSubject');
  const previousFields = readCertificateFields(input.previous.cert);
  if (Buffer.from(subjectDer).equals(Buffer.from(previousFields.subjectNameDer))) {
    throw new PkiError('ERR_SUBJECT_INVALID', 'rootSubject: the new root must not reuse the previous root\'s subject', { field: 'rootSubject' });
  }
  const rootCert = await createRootCertificate({ signer, subjectDer, serial: randomSerial(input.serials), ...caValidity(profile, input.nowMs, input.rootLifetimeSeconds) });
  const root: CaHandle = { cert: rootCert.der, signer, issuerId: issuerIdOf(key.spkiDer) };
  return {
    root,
    serialHex: rootCert.serialHex,
    wrappedRootKey: wrapPrivateKey(key.privateKey, input.kek, caKeyBinding('root', root.issuerId)),
    bothEnd: new Date(Math.min(previousFields.notAfter.getTime(), notAfterMsOf(rootCert.der))),
  };
}

/** The event of a rollover to `made`, with its two cross certificates. */
export function rolloverEvent(input: Pick<BuildRootRolloverInput, 'previous' | 'nowMs'>, made: RolledRoot, crossCertificates: CrossCertificate[]): RootRolledOverEvent {
  return {
    type: 'RootRolledOver',
    previousRootIssuerId: input.previous.issuerId,
    rootIssuerId: made.root.issuerId,
    rootCertDer: made.root.cert,
    rootSerialHex: made.serialHex,
    rootNotAfter: notAfterMsOf(made.root.cert),
    wrappedRootKey: made.wrappedRootKey,
    crossCertificates,
    at: input.nowMs,
  };
}

/** Builds the new root and both cross certificates; nothing is proposed here. */
export async function buildRootRollover(input: BuildRootRolloverInput): Promise<{ root: CaHandle; event: RootRolledOverEvent }> {
  const made = await makeRolledRoot(input);
  const crossCertificates = [await crossCertify(input, input.previous, made.root, made.bothEnd), await crossCertify(input, made.root, input.previous, made.bothEnd)];
  return { root: made.root, event: rolloverEvent(input, made, crossCertificates) };
}

/** What a cross certificate is made from besides its two roots. */
type CrossInput = Pick<BuildRootRolloverInput, 'serials' | 'nowMs' | 'rootLifetimeSeconds' | 'rootPublicBaseUrl'>;

/** `subject`'s name and key to be certified by `signer`, as a root certificate is (profile `root`, no path length limit). */
export function crossCertificateInput(input: CrossInput, signer: CaHandle, subject: CaHandle, notAfterMax: Date): IssueCertificateInput {
  const profile = BUILTIN_PROFILES.root;
  const subjectFields = readCertificateFields(subject.cert);
  const signerFields = readCertificateFields(signer.cert);
  return {
    issuer: { certDer: signer.cert, signer: signer.signer },
    subjectDer: subjectFields.subjectNameDer,
    spkiDer: subjectFields.spkiDer,
    serial: randomSerial(input.serials),
    ...caValidity(profile, input.nowMs, input.rootLifetimeSeconds, notAfterMax, signerFields.notBefore),
    extensions: withIssuerUrls(profileExtensions(profile), input.rootPublicBaseUrl, signer.issuerId),
  };
}

/** The state's record of a cross certificate `signerIssuerId` issued for `subjectIssuerId`. */
export function crossCertificateOf(signerIssuerId: string, subjectIssuerId: string, cert: { der: Uint8Array; serialHex: string }): CrossCertificate {
  return { signerIssuerId, subjectIssuerId, certDer: cert.der, serialHex: cert.serialHex, notAfter: notAfterMsOf(cert.der) };
}

/** `subject` certified by `signer`, whose key is here. */
export async function crossCertify(input: CrossInput, signer: CaHandle, subject: CaHandle, notAfterMax: Date): Promise<CrossCertificate> {
  const cert = await issueCertificate(crossCertificateInput(input, signer, subject, notAfterMax));
  return crossCertificateOf(signer.issuerId, subject.issuerId, cert);
}

