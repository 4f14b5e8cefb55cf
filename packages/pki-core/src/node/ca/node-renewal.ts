// A node renews its own credentials (docs/architecture.md §4.2: keys are made where they are
// used and only CSRs travel): its node ICA and its TLS certificate, each when renewal-policy.ts
// says it is due. The node makes the new key, keeps it durably as a pending renewal key, and asks
// its AZ's local leader (peer `renewNode`) to sign the CSR with the current AZ ICA and commit the
// certificate globally (`CaCertificateInstalled` for a node ICA, then `NodeRenewed`). Once the
// state names the new certificate, the pending key becomes the key in use; a replaced node ICA
// key is kept (own CRLs, revocation/crl-refresh.ts). A renewal cut short by a crash or a leader
// change is retried with the same pending key, so no certificate is ever signed for a key the
// node has lost.
import { X509Certificate } from 'node:crypto';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { parseCsr } from '../../ca/csr.ts';
import { bytesEqual } from '../../ca/der.ts';
import { escapeValue } from '../../ca/names.ts';
import { BUILTIN_PROFILES } from '../../ca/profiles.ts';
import { PkiError } from '../../errors.ts';
import type { CaCertificateInstalledEvent, PkiEvent } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord, NodeRecord } from '../../state/records.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';
import type { PeerRequest, PeerResponse } from '../peer/protocol.ts';
import { NODE_TLS_LIFETIME_SECONDS, signNodeIca, signNodeTls } from '../registration/ca-node-registration.ts';
import { caSignerFromRecord, issuerIdOf } from './ca-common.ts';
import { buildCsr, type NodeKeyKind } from './ca-node-keys.ts';
import { currentCa, hasRole } from './current-ca.ts';
import type { PublicBaseUrls } from './public-base-urls.ts';
import { NODE_TLS_LEAD_SECONDS, nodeIcaLeadSeconds } from './renewal-leads.ts';
import { renewalDue } from './renewal-policy.ts';
import { nodeVips } from './reserved-names.ts';

type RenewRequest = Extract<PeerRequest, { kind: 'renewNode' }>;

export class NodeRenewal {
  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'az' | 'kek' | 'nowMs' | 'random' | 'caKeyType' | 'keyStore' | 'ownKeys' | 'peers' | 'globalVip' | 'crlPartitions'>,
    private readonly roles: RoleView,
    private readonly state: () => PkiStateQueries,
    private readonly urls: PublicBaseUrls,
    private readonly committer: Committer,
    maintenance: MaintenanceRegistry,
    /** False: only the node ICA is renewed (pki-node.ts `renewNodeTls`). */
    private readonly renewsTls: boolean,
  ) {
    maintenance.add({ name: 'node credential renewal', run: () => this.maybeRenew() });
  }

  /** One maintenance step: adopt what the state already certified, then ask for what is due. */
  private async maybeRenew(): Promise<void> {
    const store = this.state();
    const node = this.ctx.ownKeys.get() === null ? undefined : await store.getNode(this.ctx.nodeId);
    if (node === undefined) return;
    const cas = await store.cas();
    const ica = cas.find((c) => c.issuerId === node.icaIssuerId);
    if (ica === undefined || ica.revokedAt !== null) return;
    await this.adoptCertified(node, ica);
    const nowMs = this.ctx.nowMs();
    const azIca = currentCa(cas, { azIcaOf: this.ctx.az }, nowMs);
    if (azIca === undefined) return;
    const icaDue = renewalDue({
      current: windowOf(ica.certDer),
      leadSeconds: await nodeIcaLeadSeconds(store),
      nowMs,
      lifetimeSeconds: BUILTIN_PROFILES.nodeIntermediate.lifetime.defaultSeconds,
      issuerNotAfterMs: azIca.notAfter,
    });
    const tlsDue = this.renewsTls && renewalDue({
      current: windowOf(node.tlsCertDer),
      leadSeconds: NODE_TLS_LEAD_SECONDS,
      nowMs,
      // What signNodeTls gives a successor, not its profile's (short) customer-leaf default: with
      // that, a successor would seem to gain nothing until the last 30 days.
      lifetimeSeconds: NODE_TLS_LIFETIME_SECONDS,
      issuerNotAfterMs: azIca.notAfter,
    });
    if (!icaDue && !tlsDue) return;
    const id = escapeValue(this.ctx.nodeId);
    const az = escapeValue(this.ctx.az);
    const request: RenewRequest = {
      kind: 'renewNode',
      nodeId: this.ctx.nodeId,
      ...(icaDue ? { icaCsrDer: buildCsr({ subject: `CN=Adrestia node ${id} ICA,OU=${az}`, privateKey: (await this.renewalKey('ica')).privateKey }) } : {}),
      ...(tlsDue ? { tlsCsrDer: buildCsr({ subject: `CN=${id},OU=${az}`, privateKey: (await this.renewalKey('tls')).privateKey }) } : {}),
    };
    const answer = await this.askLocalLeader(request);
    if (answer.kind === 'error') throw new PkiError(answer.code as PkiError['code'], answer.message);
    // The keys are adopted once this node has applied the certificates (the next step, or now).
    const renewed = await store.getNode(this.ctx.nodeId);
    await this.adoptCertified(renewed, renewed === undefined ? undefined : await store.getCa(renewed.icaIssuerId));
  }

  /** Key promotions run one at a time: two takers of one pending key would promote it twice. */
  private promoting: Promise<unknown> = Promise.resolve();

  private oneAtATime<T>(step: () => Promise<T>): Promise<T> {
    const run = this.promoting.then(step, step);
    this.promoting = run.catch(() => undefined);
    return run;
  }

  /** The pending key of `kind`, made now when there is none: it is durable before any CSR leaves. */
  private async renewalKey(kind: NodeKeyKind) {
    return (await this.ctx.keyStore.pendingRenewalKey(kind)) ?? this.ctx.keyStore.createRenewalKey(kind, this.ctx.caKeyType);
  }

  /** Promotes each pending key whose certificate the state now names as the node's. */
  private adoptCertified(node?: NodeRecord, ica?: CaRecord): Promise<void> {
    return this.oneAtATime(() => this.promoteCertified(node, ica));
  }

  private async promoteCertified(node?: NodeRecord, ica?: CaRecord): Promise<void> {
    if (node === undefined || ica === undefined) return;
    const icaKey = await this.ctx.keyStore.pendingRenewalKey('ica');
    if (icaKey !== null && issuerIdOf(icaKey.spkiDer) === ica.issuerId) this.ctx.ownKeys.set(await this.ctx.keyStore.promoteRenewalKey('ica'));
    const tlsKey = await this.ctx.keyStore.pendingRenewalKey('tls');
    if (tlsKey !== null && bytesEqual(tlsKey.spkiDer, readCertificateFields(node.tlsCertDer).spkiDer)) {
      this.ctx.ownKeys.set(await this.ctx.keyStore.promoteRenewalKey('tls'));
    }
  }

  /**
   * Whether a TLS renewal key is pending: its certificate may be committed without this node
   * having applied it (docs/architecture.md §9.3: a renewing node cut off from the log).
   */
  async tlsRenewalPending(): Promise<boolean> {
    return (await this.ctx.keyStore.pendingRenewalKey('tls')) !== null;
  }

  /**
   * Takes up `certDer` as this node's TLS certificate before the log brings it here: when it
   * certifies the pending TLS key and an AZ ICA of this AZ signed it (only `answerRenewNode`
   * signs a node TLS certificate with an AZ ICA, for the node that holds the key), the pending
   * key becomes the key in use. A node whose `NodeRenewed` was committed while it was down or
   * cut off presents a certificate its peers no longer pin, and so can never be sent the entry
   * that would promote the key (transport/peer-pins.ts in the server); the certificate itself is
   * public, fetched from any peer. False when it is not such a certificate.
   */
  takeUpRenewedTls(certDer: Uint8Array): Promise<boolean> {
    return this.oneAtATime(() => this.takeUpIfPending(certDer));
  }

  private async takeUpIfPending(certDer: Uint8Array): Promise<boolean> {
    const pending = await this.ctx.keyStore.pendingRenewalKey('tls');
    if (pending === null) return false;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certDer);
    } catch {
      return false;
    }
    if (!bytesEqual(new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' })), pending.spkiDer)) return false;
    const azIcas = (await this.state().cas()).filter((c) => hasRole(c, { azIcaOf: this.ctx.az }) && c.revokedAt === null);
    if (!azIcas.some((c) => signedBy(cert, c.certDer))) return false;
    this.ctx.ownKeys.set(await this.ctx.keyStore.promoteRenewalKey('tls'));
    return true;
  }

  private async askLocalLeader(request: RenewRequest): Promise<PeerResponse> {
    if (this.roles.isLocalLeader()) return this.answerRenewNode(this.ctx.nodeId, request);
    const leaderId = this.roles.localLeaderId();
    if (leaderId === null) throw new PkiError('ERR_NOT_LEADER', `AZ ${this.ctx.az} has no local leader to renew ${this.ctx.nodeId}`);
    return this.ctx.peers.call(leaderId, request);
  }

  /**
   * On the local leader (peer `renewNode`): signs the node's renewal CSRs with the current AZ ICA
   * and commits them. Only a node itself asks for its own renewal; a withdrawn node gets nothing.
   */
  async answerRenewNode(fromNodeId: string, r: RenewRequest): Promise<PeerResponse> {
    if (!this.roles.isLocalLeader()) throw new PkiError('ERR_NOT_LEADER', `${this.ctx.nodeId} is not the local leader of ${this.ctx.az}`);
    if (fromNodeId !== r.nodeId) throw new PkiError('ERR_INPUT_INVALID', `node ${fromNodeId} asks to renew node ${r.nodeId}: a node renews only itself`, { field: 'nodeId' });
    const store = this.state();
    const node = await store.getNode(r.nodeId);
    if (node === undefined || node.az !== this.ctx.az) throw new PkiError('ERR_NODE_UNKNOWN', `node ${r.nodeId} is not registered in AZ ${this.ctx.az}`, { field: 'nodeId' });
    const cas = await store.cas();
    if (cas.some((c) => hasRole(c, { nodeIcaOf: r.nodeId }) && c.revokedAt !== null)) throw new PkiError('ERR_NODE_REVOKED', `node ${r.nodeId} was withdrawn`);
    const nowMs = this.ctx.nowMs();
    const azIcaRecord = currentCa(cas, { azIcaOf: this.ctx.az }, nowMs);
    if (azIcaRecord === undefined) throw new PkiError('ERR_NOT_READY', `AZ ${this.ctx.az} holds no valid AZ ICA yet; retry`);
    const signing = {
      azIca: caSignerFromRecord(azIcaRecord, this.ctx.kek),
      nodeId: r.nodeId,
      az: this.ctx.az,
      nowMs,
      serials: this.ctx.random,
      publicBaseUrl: await this.urls.ofAz(this.ctx.az),
      crlPartitions: this.ctx.crlPartitions,
    };
    const events: PkiEvent[] = [];
    const ica = cas.find((c) => c.issuerId === node.icaIssuerId);
    if (ica === undefined) throw new Error(`assertion failed: node ${r.nodeId} names node CA ${node.icaIssuerId}, which is not in the state`);
    let icaCertDer = ica.certDer;
    let icaIssuerId = ica.issuerId;
    if (r.icaCsrDer !== undefined) {
      const csr = parseCsr(r.icaCsrDer);
      icaIssuerId = issuerIdOf(csr.spkiDer);
      const known = cas.find((c) => c.issuerId === icaIssuerId);
      if (known !== undefined && !hasRole(known, { nodeIcaOf: r.nodeId })) throw new PkiError('ERR_INPUT_INVALID', 'the node ICA CSR carries the key of another CA', { field: 'icaCsrDer' });
      const installed: CaCertificateInstalledEvent | undefined = known === undefined ? (await signNodeIca({ ...signing, csr })).event : undefined;
      if (installed !== undefined) events.push(installed);
      icaCertDer = known?.certDer ?? installed!.certDer;
    }
    let tlsCertDer = node.tlsCertDer;
    if (r.tlsCsrDer !== undefined) {
      const csr = parseCsr(r.tlsCsrDer);
      if (issuerIdOf(csr.spkiDer) === icaIssuerId) throw new PkiError('ERR_INPUT_INVALID', 'the node ICA and TLS CSRs carry the same key', { field: 'tlsCsrDer' });
      if (!bytesEqual(csr.spkiDer, readCertificateFields(node.tlsCertDer).spkiDer)) {
        tlsCertDer = await signNodeTls({ ...signing, csr, addresses: node.addresses, vips: await nodeVips(store, this.ctx.globalVip, this.ctx.az) });
      }
    }
    if (icaIssuerId !== node.icaIssuerId || tlsCertDer !== node.tlsCertDer) {
      events.push({ type: 'NodeRenewed', nodeId: r.nodeId, icaIssuerId, tlsCertDer, at: nowMs });
    }
    for (const ev of events) await this.committer.commitOk(ev, 'global');
    return { kind: 'registered', icaCertDer, tlsCertDer };
  }
}

function signedBy(cert: X509Certificate, issuerDer: Uint8Array): boolean {
  const issuer = new X509Certificate(issuerDer);
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function windowOf(certDer: Uint8Array): { notBeforeMs: number; notAfterMs: number } {
  const fields = readCertificateFields(certDer);
  return { notBeforeMs: fields.notBefore.getTime(), notAfterMs: fields.notAfter.getTime() };
}
