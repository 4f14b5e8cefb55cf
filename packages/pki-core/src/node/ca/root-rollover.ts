// Root rollover (docs/architecture.md "Root rollover and KEK rotation"): a new root key and
// self-signed certificate, wrapped under the KEK like the first root (founding/ca-found.ts), and a
// cross certificate each way between the old and the new root (RFC 4158 §2.3), committed as one
// `RootRolledOver`; then every AZ ICA is re-issued under the new root by the AZ ICA renewal path
// (az-ica-renewal.ts). Nothing under the old root is revoked: its AZ and node ICAs keep signing
// until their successors take over, and its CRL stays current until the last certificate under it
// expires. Relying parties that trust either root verify either chain through a cross certificate:
//   leaf → node ICA → old AZ ICA → [old root signed by new root] → new root
//   leaf → node ICA → new AZ ICA → [new root signed by old root] → old root
import { generateCaKeyPair, type CaKeyType, type KeyPairGenerator } from '../../ca/keys.ts';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { createRootCertificate, issueCertificate } from '../../ca/issue.ts';
import { wrapPrivateKey } from '../../ca/key-wrap.ts';
import { buildName, escapeValue } from '../../ca/names.ts';
import { BUILTIN_PROFILES } from '../../ca/profiles.ts';
import { profileExtensions } from '../../ca/resolve-issuance.ts';
import { randomSerial, type SerialRandomSource } from '../../ca/serial.ts';
import { KeyObjectSigner } from '../../ca/signer.ts';
import { PkiError } from '../../errors.ts';
import type { CrossCertificate, RootRolledOverEvent } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import type { AzIcaRenewal } from './az-ica-renewal.ts';
import { caKeyBinding, caSignerFromRecord, caValidity, checkNow, issuerIdOf, notAfterMsOf, type CaHandle } from './ca-common.ts';
import type { PublicBaseUrls } from './public-base-urls.ts';
import { withIssuerUrls } from './issuer-urls.ts';

interface BuildRootRolloverInput {
  /** The cluster's current root, its key unwrapped in memory (`caSignerFromRecord`). */
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

interface BuiltRootRollover {
  readonly root: CaHandle;
  readonly event: RootRolledOverEvent;
}

/** The default subject of the `generation`-th root of a cluster (the first is founding/ca-found.ts's). */
function rolledRootSubject(clusterId: string, generation: number): string {
  return `CN=Adrestia Root CA G${generation},OU=${escapeValue(clusterId)}`;
}

/** Builds the new root and both cross certificates; nothing is proposed here. */
async function buildRootRollover(input: BuildRootRolloverInput): Promise<BuiltRootRollover> {
  checkNow(input.nowMs);
  const profile = BUILTIN_PROFILES.root;
  const key = await (input.generateKey ?? generateCaKeyPair)(input.keyType);
  const signer = new KeyObjectSigner(key.privateKey);
  const subjectDer = buildName(input.rootSubject, 'rootSubject');
  const previousFields = readCertificateFields(input.previous.cert);
  if (Buffer.from(subjectDer).equals(Buffer.from(previousFields.subjectNameDer))) {
    throw new TypeError('buildRootRollover: the new root must not reuse the previous root\'s subject');
  }
  const rootCert = await createRootCertificate({ signer, subjectDer, serial: randomSerial(input.serials), ...caValidity(profile, input.nowMs, input.rootLifetimeSeconds) });
  const root: CaHandle = { cert: rootCert.der, signer, issuerId: issuerIdOf(key.spkiDer) };
  // A cross certificate is of no use past either root's end: it lasts as long as both do.
  const bothEnd = new Date(Math.min(previousFields.notAfter.getTime(), notAfterMsOf(rootCert.der)));
  const crossCertificates = [await crossCertify(input, input.previous, root, bothEnd), await crossCertify(input, root, input.previous, bothEnd)];
  const event: RootRolledOverEvent = {
    type: 'RootRolledOver',
    previousRootIssuerId: input.previous.issuerId,
    rootIssuerId: root.issuerId,
    rootCertDer: rootCert.der,
    rootSerialHex: rootCert.serialHex,
    rootNotAfter: notAfterMsOf(rootCert.der),
    wrappedRootKey: wrapPrivateKey(key.privateKey, input.kek, caKeyBinding('root', root.issuerId)),
    crossCertificates,
    at: input.nowMs,
  };
  return { root, event };
}

/** `subject`'s name and key certified by `signer`, as a root certificate is (profile `root`, no path length limit). */
async function crossCertify(input: BuildRootRolloverInput, signer: CaHandle, subject: CaHandle, notAfterMax: Date): Promise<CrossCertificate> {
  const profile = BUILTIN_PROFILES.root;
  const subjectFields = readCertificateFields(subject.cert);
  const signerFields = readCertificateFields(signer.cert);
  const cert = await issueCertificate({
    issuer: { certDer: signer.cert, signer: signer.signer },
    subjectDer: subjectFields.subjectNameDer,
    spkiDer: subjectFields.spkiDer,
    serial: randomSerial(input.serials),
    ...caValidity(profile, input.nowMs, input.rootLifetimeSeconds, notAfterMax, signerFields.notBefore),
    extensions: withIssuerUrls(profileExtensions(profile), input.rootPublicBaseUrl, signer.issuerId),
  });
  return { signerIssuerId: signer.issuerId, subjectIssuerId: subject.issuerId, certDer: cert.der, serialHex: cert.serialHex, notAfter: notAfterMsOf(cert.der) };
}

/** What `rotateRoot` did: the roots before and after, and the AZ ICAs it re-issued under the new one. */
export interface RotatedRoot {
  readonly previousRootIssuerId: string;
  readonly rootIssuerId: string;
  readonly rootCertDer: Uint8Array;
  readonly crossCertificates: readonly CrossCertificate[];
  readonly azIcas: readonly { az: string; issuerId: string }[];
}

/** The global leader's part of a rollover: it holds the root key (caSignerFromRecord). */
export class RootRollover {
  constructor(
    private readonly ctx: Pick<NodeContext, 'kek' | 'nowMs' | 'random' | 'caKeyType' | 'keyStore'>,
    private readonly roles: RoleView,
    private readonly state: () => PkiStateQueries,
    private readonly urls: PublicBaseUrls,
    private readonly committer: Committer,
    private readonly azIcas: Pick<AzIcaRenewal, 'reissueUnderRoot'>,
  ) {}

  /** Commits `RootRolledOver`, then re-issues every AZ ICA under the new root; answers once all are committed. */
  async rotateRoot(request: { rootSubject?: string } = {}): Promise<RotatedRoot> {
    if (!this.roles.isGlobalLeader()) throw new PkiError('ERR_NOT_LEADER', 'a root rollover runs on the global leader (it holds the root key)');
    const store = this.state();
    const cluster = await store.cluster();
    const current = cluster === undefined ? undefined : await store.getCa(cluster.rootIssuerId);
    if (cluster === undefined || current === undefined) throw new PkiError('ERR_NOT_FOUND', 'this node holds no cluster yet');
    if (current.wrappedKey === null) {
      throw new PkiError('ERR_NOT_FOUND', 'the root is held outside the cluster (offline root): the cluster cannot sign its cross certificate', { field: 'wrappedKey' });
    }
    const generation = (await store.cas()).filter((ca) => ca.role === 'root').length + 1;
    const baseUrl = this.urls.ofCluster();
    const built = await buildRootRollover({
      previous: caSignerFromRecord(current, this.ctx.kek),
      rootSubject: request.rootSubject ?? rolledRootSubject(cluster.clusterId, generation),
      kek: this.ctx.kek.wrapKek(),
      nowMs: this.ctx.nowMs(),
      serials: this.ctx.random,
      keyType: this.ctx.caKeyType,
      generateKey: this.ctx.keyStore.generateCaKey,
      ...(baseUrl === undefined ? {} : { rootPublicBaseUrl: baseUrl }),
    });
    await this.committer.commitOk(built.event, 'global');
    const azIcas = await this.azIcas.reissueUnderRoot();
    return {
      previousRootIssuerId: current.issuerId,
      rootIssuerId: built.root.issuerId,
      rootCertDer: built.root.cert,
      crossCertificates: built.event.crossCertificates,
      azIcas,
    };
  }
}
