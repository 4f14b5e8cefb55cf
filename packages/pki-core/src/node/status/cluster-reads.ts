// What a node answers about the cluster from the replicated state, beyond its own status: the CA
// bundle and CA certificates, and the records its server routes and admits peers by. Which reads
// wait for the read barrier and why the others may not is said at each method of PkiNodeApi.
import { createHash } from 'node:crypto';
import { toPem } from '../../ca/pem.ts';
import { PkiError } from '../../errors.ts';
import type { AzRecord, NodeRecord } from '../../state/records.ts';
import { issuerChainPem, rootPem } from '../ca/ca-chain.ts';
import { nodeTlsCertificateId } from '../ca/ca-revocation.ts';
import { currentCa } from '../ca/current-ca.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { NodeContext } from '../core/context.ts';
import type { ReadView } from '../core/read-view.ts';
import type { CaBundle } from '../pki-node-api.ts';

export class ClusterReads {
  constructor(
    private readonly ctx: Pick<NodeContext, 'az' | 'nowMs'>,
    private readonly reads: ReadView,
    private readonly ownCa: OwnCa,
  ) {}

  async caBundle(): Promise<CaBundle> {
    const store = this.reads.applied();
    const cluster = await store.cluster();
    if (!cluster) throw new PkiError('ERR_NOT_FOUND', 'this node holds no cluster yet');
    const azIca = currentCa(await store.cas(), { azIcaOf: this.ctx.az }, this.ctx.nowMs());
    const root = await rootPem(store);
    const own = await this.ownCa.record();
    const chain = own ? await issuerChainPem(store, own.issuerId) : azIca ? toPem(azIca.certDer) : '';
    const nowMs = this.ctx.nowMs();
    // After a root rollover (node/ca/root-rollover.ts): the earlier roots still valid, and the cross certificates.
    const roots = (await store.cas()).filter((ca) => ca.role === 'root' && ca.issuerId !== cluster.rootIssuerId && ca.revokedAt === null && ca.notAfter > nowMs);
    const cross = (await store.crossCertificates()).filter((c) => c.notAfter > nowMs);
    return {
      clusterId: cluster.clusterId,
      rootPem: root,
      azIcaPem: azIca ? toPem(azIca.certDer) : null,
      chainPem: chain + root,
      rootsPem: root + roots.map((ca) => toPem(ca.certDer)).join(''),
      crossCertificatesPem: cross.map((c) => toPem(c.certDer)).join(''),
    };
  }

  async getCaCertificate(issuerId: string): Promise<Uint8Array | null> {
    return (await this.reads.applied().getCa(issuerId))?.certDer ?? null;
  }

  listAzs(): Promise<AzRecord[]> {
    return this.reads.applied().azs();
  }

  listNodes(): Promise<NodeRecord[]> {
    return this.reads.applied().nodes();
  }

  /** Node ids whose node CA was revoked, or that were removed (a node CA without a node record). */
  async withdrawnNodeIds(): Promise<ReadonlySet<string>> {
    const store = this.reads.applied();
    const [nodes, cas] = await Promise.all([store.nodes(), store.cas()]);
    const registered = new Set(nodes.map((n) => n.nodeId));
    const withdrawn = new Set<string>();
    for (const ca of cas) {
      if (ca.role === 'node' && ca.nodeId && (ca.revokedAt !== null || !registered.has(ca.nodeId))) withdrawn.add(ca.nodeId);
    }
    return withdrawn;
  }

  /**
   * SHA-256 (hex) of the DER of each registered node's TLS certificate, unless its node CA or
   * that certificate is revoked: the one certificate a peer claiming that node id may present.
   */
  async nodeTlsPins(): Promise<ReadonlyMap<string, string>> {
    const store = this.reads.applied();
    const pins = new Map<string, string>();
    for (const node of await store.nodes()) {
      const ica = await store.getCa(node.icaIssuerId);
      if (ica === undefined || ica.revokedAt !== null) continue;
      const tls = nodeTlsCertificateId(node, ica);
      if ((await store.getRevocation(tls.issuerId, tls.serialHex)) !== undefined) continue;
      pins.set(node.nodeId, createHash('sha256').update(node.tlsCertDer).digest('hex'));
    }
    return pins;
  }

  /** Each AZ's unrevoked AZ ICA certificates (DER), as applied here (PkiNodeApi.azIcaCertificates). */
  async azIcaCertificates(): Promise<ReadonlyMap<string, readonly Uint8Array[]>> {
    const byAz = new Map<string, Uint8Array[]>();
    for (const ca of await this.reads.applied().cas()) {
      if (ca.role !== 'az' || ca.az === null || ca.revokedAt !== null) continue;
      byAz.set(ca.az, [...(byAz.get(ca.az) ?? []), ca.certDer]);
    }
    return byAz;
  }

  async getNode(nodeId: string): Promise<NodeRecord | undefined> {
    const store = await this.reads.linearizable();
    return store.getNode(nodeId);
  }

  async clusterId(): Promise<string | null> {
    const store = await this.reads.linearizable();
    return (await store.cluster())?.clusterId ?? null;
  }

  async azIcaCertificate(az: string): Promise<Uint8Array | null> {
    const store = await this.reads.linearizable();
    return currentCa(await store.cas(), { azIcaOf: az }, this.ctx.nowMs())?.certDer ?? null;
  }
}
