// Registration of other nodes (Phase II of start-up), on the node that signs for its AZ: the
// local leader signs a newcomer's node ICA and TLS certificates with the AZ ICA and commits them
// globally, then adds it as a learner. Also the checks of Phase II that the server runs against
// the replicated state (registration.ts): the PSK-proved CA bundle and the authenticated request.
import { PkiError } from '../../errors.ts';
import type { NodeAddresses } from '../../state/events.ts';
import { caSignerFromRecord, type CaHandle } from '../ca/ca-common.ts';
import { currentCa } from '../ca/current-ca.ts';
import type { PublicBaseUrls } from '../ca/public-base-urls.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { ReadView } from '../core/read-view.ts';
import type { RoleView } from '../core/roles.ts';
import type { PeerRequest, PeerResponse } from '../peer/protocol.ts';
import { signNodeRegistration } from './ca-node-registration.ts';
import type { CaBundleResponseBody } from './registration-body.ts';
import { caBundleResponse, verifyRegistrationRequest, type AcceptedRegistration, type CaBundleResponseInput, type VerifyRegistrationInput } from './registration.ts';
import { nodeVips } from '../ca/reserved-names.ts';

/** What a node registering sends and is checked by: its identity, addresses and two CSRs. */
export type NodeRegistrationRequest = { nodeId: string; az: string; addresses: NodeAddresses; icaCsrDer: Uint8Array; tlsCsrDer: Uint8Array };

export class NodeRegistration {
  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'az' | 'kek' | 'nowMs' | 'random' | 'globalVip' | 'crlPartitions'>,
    private readonly roles: RoleView,
    private readonly reads: ReadView,
    private readonly urls: PublicBaseUrls,
    private readonly committer: Committer,
    /** One local membership step (membership/): the registered node joins as a learner. */
    private readonly advanceLocalMembers: () => Promise<void>,
  ) {}

  /** On the local leader (peer `register`): sign the newcomer's node ICA and TLS certificates, add it as a learner. */
  async registerNode(r: Extract<PeerRequest, { kind: 'register' }>): Promise<PeerResponse> {
    if (!this.roles.isLocalLeader()) throw new PkiError('ERR_NOT_LEADER', `${this.ctx.nodeId} is not the local leader of ${this.ctx.az}`);
    if (r.az !== this.ctx.az) throw new PkiError('ERR_WRONG_AZ', `node ${r.nodeId} asks AZ ${this.ctx.az} to register it in ${r.az}`);
    const azIcaRecord = currentCa(await this.reads.applied().cas(), { azIcaOf: this.ctx.az }, this.ctx.nowMs());
    // A founder answers before its AZ's state has the AZ ICA from the global log: not yet, not never.
    if (!azIcaRecord) throw new PkiError('ERR_NOT_READY', `AZ ${this.ctx.az} has not received its AZ ICA from the global log yet; retry`);
    const answer = await this.registerWith(caSignerFromRecord(azIcaRecord, this.ctx.kek), r);
    // Membership changes go one at a time: the registered node joins the local group as a
    // learner from maintenance (advanceLocalMembers), now if nothing else is pending.
    await this.advanceLocalMembers();
    return answer;
  }

  /**
   * Signs a node's ICA and TLS certificates with its AZ ICA and commits them globally. A node id
   * registers once; the founder of an AZ retrying a lost answer gets its certificates again.
   */
  async registerWith(azIca: CaHandle, r: NodeRegistrationRequest): Promise<PeerResponse> {
    const store = this.reads.applied();
    const known = await store.getNode(r.nodeId);
    const nodeCa = (await store.cas()).find((c) => c.nodeId === r.nodeId);
    const founder = (await store.getAz(r.az))?.founderNodeId === r.nodeId;
    if (founder && known && nodeCa && nodeCa.revokedAt === null) return { kind: 'registered', icaCertDer: nodeCa.certDer, tlsCertDer: known.tlsCertDer };
    if (known || nodeCa) throw new PkiError('ERR_NODE_REVOKED', `node id ${r.nodeId} is already registered or was removed; a node id registers once`);
    const signed = await signNodeRegistration({
      azIca,
      icaCsrDer: r.icaCsrDer,
      tlsCsrDer: r.tlsCsrDer,
      nodeId: r.nodeId,
      az: r.az,
      addresses: r.addresses,
      nowMs: this.ctx.nowMs(),
      serials: this.ctx.random,
      publicBaseUrl: await this.urls.ofAz(r.az),
      crlPartitions: this.ctx.crlPartitions,
      vips: await nodeVips(store, this.ctx.globalVip, r.az),
    });
    for (const ev of signed.events) await this.committer.commitOk(ev, 'global');
    return { kind: 'registered', icaCertDer: signed.icaCertDer, tlsCertDer: signed.tlsCertDer };
  }

  /**
   * Phase II, HTTPS (registration.ts `verifyRegistrationRequest`), behind the read barrier: the
   * once-only checks (node id, join token) see every registration and token use this AZ
   * acknowledged. The log decides single use again on apply.
   */
  async acceptRegistration(input: Omit<VerifyRegistrationInput, 'store'>): Promise<AcceptedRegistration> {
    const store = await this.reads.linearizable();
    return verifyRegistrationRequest({ ...input, store });
  }

  /** Phase II, plain HTTP (registration.ts `caBundleResponse`), from the applied state: see PkiNodeApi.caBundleProof. */
  caBundleProof(input: Omit<CaBundleResponseInput, 'store'>): Promise<CaBundleResponseBody> {
    return caBundleResponse({ ...input, store: this.reads.applied() });
  }
}
