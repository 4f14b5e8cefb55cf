// Leaf issuance and renewal on a node (docs/architecture.md §4.3: each node signs
// leaves with its own node ICA). A certificate goes back to its requester only once its `Issued`
// event is committed locally; the read barrier first makes every committed issuance visible, so a
// retried request gets the certificate issued to it before (ca-leaf.ts).
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { decodeSubjectAltNames } from '../../ca/csr.ts';
import { bytesEqual } from '../../ca/der.ts';
import { OID_EXT } from '../../ca/oids.ts';
import { toPem } from '../../ca/pem.ts';
import { parseSanText, type SanEntry } from '../../ca/san.ts';
import { attributeValues, readName } from '../../ca/names.ts';
import { PkiError, type PkiErrorCode } from '../../errors.ts';
import type { RenewalCharge } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CertificateRecord, LeafCertificateRecord } from '../../state/records.ts';
import { rateLimitedAfterCommit } from '../provisioners/rate-limit-refusal.ts';
import { issuerChainPem, rootPem } from '../ca/ca-chain.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { PublicBaseUrls } from '../ca/public-base-urls.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { ReadView } from '../core/read-view.ts';
import type { IssuedLeaf, IssueRequest, RenewRequest } from '../pki-node-api.ts';
import { issueLeafFromCsr } from './ca-leaf.ts';
import { reservedNames, type ReservedNames } from '../ca/reserved-names.ts';

type LeafRequest = Omit<IssueRequest, 'sans'> & { requestedSans?: SanEntry[]; renewalCharge?: RenewalCharge };

/** The requester of an issuance with a provisioner's token (provisioners/token-issuance.ts). */
const PROVISIONER_REQUESTER = 'provisioner:';

export class Issuance {
  /**
   * The names only nodes may carry, as of a map version of the state: they change only with
   * events that change the cluster map (state/map-version.ts), so they are read once per version,
   * not on every issuance.
   */
  private reserved: { mapVersion: number; names: ReservedNames } | null = null;

  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'nowMs' | 'random' | 'globalVip'>,
    private readonly reads: ReadView,
    private readonly ownCa: OwnCa,
    private readonly urls: PublicBaseUrls,
    private readonly committer: Committer,
  ) {}

  async issue(request: IssueRequest): Promise<IssuedLeaf> {
    const store = await this.reads.linearizable(); // the idempotency check must see every committed issuance
    const { sans, ...rest } = request;
    return this.issueLeaf(store, { ...rest, ...(sans ? { requestedSans: parseSans(sans) } : {}) });
  }

  /**
   * Renewal by the holder of a leaf of this AZ (leaves are local: only the issuing AZ holds the
   * record). A revocation is acknowledged only once applied in the issuing AZ
   * (revocation/revocation-routing.ts hands it there), and the read barrier makes every acknowledged
   * revocation visible here, so a revoked certificate never renews, on any node.
   */
  async renew(request: RenewRequest): Promise<IssuedLeaf> {
    const store = await this.reads.linearizable();
    const fields = readCertificateFields(request.currentCertDer);
    const record = (await store.findBySerial(fields.serialHex)).find((r) => r.kind === 'leaf' && bytesEqual(r.certDer, request.currentCertDer));
    if (record === undefined || record.kind !== 'leaf') {
      throw new PkiError('ERR_NOT_FOUND', `certificate ${fields.serialHex} was not issued as a leaf in AZ ${this.ctx.az}`, { field: 'certificate' });
    }
    const revocation = await store.getRevocation(record.issuerId, record.serialHex);
    if (revocation !== undefined) {
      throw new PkiError('ERR_REVOKED', `certificate ${record.serialHex} is revoked (${revocation.reason}): it cannot be renewed; issue a new one`, { field: 'certificate' });
    }
    if (this.ctx.nowMs() > record.notAfter) {
      throw new PkiError('ERR_EXPIRED', `certificate ${record.serialHex} expired at ${new Date(record.notAfter).toISOString()}: it cannot be renewed; issue a new one`, { field: 'certificate' });
    }
    const san = fields.extensions.get(OID_EXT.subjectAltName);
    const renewalCharge = await this.renewalChargeOf(store, record, attributeValues(readName(fields.subjectNameDer), 'CN')[0] ?? record.subject);
    return this.issueLeaf(store, {
      csr: request.csr,
      profile: record.profile,
      requester: `renew:${record.issuerId}:${record.serialHex}`,
      requestedSans: san === undefined ? [] : decodeSubjectAltNames(san.value).sans,
      ...(renewalCharge === undefined ? {} : { renewalCharge }),
    });
  }

  /**
   * A renewal counts as the certificate's own provisioner (docs/architecture.md §16.1): the one
   * whose token led to it (requester `provisioner:<name>:<jti>`) or to the certificate it renewed.
   * `issueLeafFromCsr` refuses it before signing when this AZ's share of its buckets is empty.
   */
  private async renewalChargeOf(store: PkiStateQueries, record: LeafCertificateRecord, identity: string): Promise<RenewalCharge | undefined> {
    const name = record.provisioner ?? (record.requester.startsWith(PROVISIONER_REQUESTER) ? record.requester.split(':')[1] : undefined);
    const provisioner = name === undefined ? undefined : await store.getProvisioner(name);
    return provisioner === undefined ? undefined : { provisioner: provisioner.name, identity };
  }

  private async issueLeaf(store: PkiStateQueries, request: LeafRequest): Promise<IssuedLeaf> {
    if ((await store.getAz(this.ctx.az))?.phase === 'removing') throw new PkiError('ERR_AZ_REMOVING', `AZ ${this.ctx.az} is being removed: it issues nothing more`);
    const nodeIca = await this.ownCa.signer();
    const csr = typeof request.csr === 'string' ? { csrPem: request.csr } : { csrDer: request.csr };
    const built = await issueLeafFromCsr({
      nodeIca,
      ...csr,
      profileName: request.profile,
      ...(request.requestedSans ? { requestedSans: request.requestedSans } : {}),
      ...(request.lifetimeSeconds !== undefined ? { lifetimeSeconds: request.lifetimeSeconds } : {}),
      requester: request.requester,
      nowMs: this.ctx.nowMs(),
      serials: this.ctx.random,
      store,
      publicBaseUrl: await this.urls.ofAz(this.ctx.az),
      reserved: await this.reservedNames(store),
      ...(request.renewalCharge === undefined ? {} : { renewalCharge: request.renewalCharge }),
    });
    // For a retried request the earlier certificate answers, whichever node ICA signed it.
    let { certDer } = built;
    let { serialHex, notAfter, issuerId } = built.event;
    let duplicate = built.existing;
    if (!built.existing) {
      const outcome = await this.committer.commitRetrying(built.event, 'local');
      if (!outcome.ok) throw await this.commitRefusal(outcome.error, request.renewalCharge);
      if (outcome.result.type === 'Issued' && outcome.result.duplicate) {
        ({ certDer, serialHex, notAfter, issuerId } = outcome.result.certificate);
        duplicate = true;
      }
    }
    const root = await rootPem(store);
    return {
      serialHex,
      issuerId,
      certificateDer: certDer,
      certificatePem: toPem(certDer),
      chainPem: toPem(certDer) + (await issuerChainPem(store, issuerId)) + root,
      notAfter,
      duplicate,
    };
  }

  /** A refused `Issued`; a renewal refused by its AZ's buckets says when to retry (Retry-After). */
  private async commitRefusal(error: { code: PkiErrorCode; message: string }, charge: RenewalCharge | undefined): Promise<PkiError> {
    const applied = this.reads.applied();
    const provisioner = error.code === 'ERR_RATE_LIMITED' && charge !== undefined ? await applied.getProvisioner(charge.provisioner) : undefined;
    if (charge === undefined || provisioner === undefined) return new PkiError(error.code, error.message);
    return rateLimitedAfterCommit(applied, provisioner, charge.identity, this.ctx.nowMs(), error.message, 'az');
  }

  private async reservedNames(store: PkiStateQueries): Promise<ReservedNames> {
    const mapVersion = await store.mapVersion();
    if (this.reserved?.mapVersion !== mapVersion) this.reserved = { mapVersion, names: await reservedNames(store, this.ctx.globalVip) };
    return this.reserved.names;
  }

  /** Every certificate this AZ holds with the serial, behind the read barrier. */
  async getCertificate(serialHex: string): Promise<CertificateRecord[]> {
    const store = await this.reads.linearizable();
    return store.findBySerial(serialHex);
  }
}

/** `dns:a.example`, `ip:10.0.0.1`, `uri:spiffe://…`, `email:a@b`, or a bare value. */
function parseSans(texts: readonly string[]): SanEntry[] {
  return texts.map((t, i) => parseSanText(t, `sans[${i}]`));
}
