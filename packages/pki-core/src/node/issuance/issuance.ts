// What a PkiNode does once its tiers run: issuance, revocation, registration of other nodes,
// peer requests, and the scheduled work each owner runs once (never on every node):
//   - every node: its own node ICA's CRL (only it holds that key);
//   - the local leader: learner promotion, the AZ ICA's CRL, the expiry sweep of its AZ;
//   - the global leader: seat promotion, the root's CRL.
import type { ClockTimer, TwoTierNode } from '@adrestia/consensus';
import { systemClock } from '@adrestia/consensus';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import { decodeSubjectAltNames } from '../../ca/csr.ts';
import { bytesEqual } from '../../ca/der.ts';
import { OID_EXT } from '../../ca/oids.ts';
import { toPem } from '../../ca/pem.ts';
import { parseSanText, type SanEntry } from '../../ca/san.ts';
import { KeyObjectSigner } from '../../ca/signer.ts';
import { sleepTicks } from '../core/tick-sleep.ts';
import { PkiError, isPkiError } from '../../errors.ts';
import { decodeEvent } from '../../state/event-codec.ts';
import type { CertificateRecord } from '../../state/records.ts';
import type { NodeAddresses } from '../../state/events.ts';
import { healthOf, newHealthRecord, recordProbe, type HealthPolicy, type HealthRecord, type HealthState } from '../../cluster/node-health.ts';
import { issuerChainPem } from '../ca/ca-chain.ts';
import { caSignerFromRecord, type CaHandle } from '../ca/ca-common.ts';
import { issueLeafFromCsr } from './ca-leaf.ts';
import type { NodeKeys } from '../ca/ca-node-keys.ts';
import { signNodeRegistration } from '../registration/ca-node-registration.ts';
import { buildCrlEvent, buildRevocation, crlNeedsRefresh } from '../ca/ca-revocation.ts';
import { forwardRevocation, revocationTargetAzs } from '../revocation/revocation-routing.ts';
import type { EventProposer } from '../core/event-proposer.ts';
import type { PkiApplyResult } from '../core/pki-application.ts';
import type { PkiNode } from '../pki-node.ts';
import type { CaBundle, IssuedLeaf, IssueRequest, PkiNodeStatus, RenewRequest, RevokeRequest, TierStatus } from '../pki-node-api.ts';
import type { PeerRequest, PeerResponse } from '../peer/protocol.ts';

const HEALTH_POLICY: HealthPolicy = { suspectAfterFailures: 2, downAfterFailures: 5, downAfterSilenceMs: 60_000 };

const TRANSIENT = new Set(['ERR_NOT_LEADER', 'ERR_NO_LOCAL_QUORUM', 'ERR_NO_GLOBAL_QUORUM', 'ERR_TIMEOUT', 'ERR_NOT_READY']);

export class NodeServices {
  private timer: ClockTimer | null = null;
  private stopped = false;
  private maintaining = false;
  private clusterId: string | null = null;
  /** Seats added as learners by this global leader, to promote once caught up. */
  private readonly pendingSeats = new Set<string>();
  /** AZs being removed, as of the last maintenance round: their seats are not promoted. */
  private readonly retiringSeats = new Set<string>();
  /** The local leader's health checks of its AZ's nodes (seed 000: "performs local health checks"). */
  private readonly health = new Map<string, HealthRecord>();
  /** The global leader's view of other AZs' local leaders, from its health checks of their nodes. */
  private readonly remoteLeaders = new Map<string, string>();

  constructor(
    private readonly node: PkiNode,
    private readonly twoTier: TwoTierNode<PkiApplyResult>,
    private readonly proposer: EventProposer,
    private readonly keys: () => NodeKeys | null,
  ) {}

  start(): void {
    const o = this.node.options;
    const every = o.maintenanceEveryTicks ?? 20;
    this.timer = (o.clock ?? systemClock).setInterval(() => void this.maintain(), o.tickMs * every);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  // ---- status ----

  status(): PkiNodeStatus {
    const s = this.twoTier.status();
    const learner = s.local.confState.learners.includes(this.node.nodeId);
    const local: TierStatus = {
      role: learner ? 'learner' : s.local.role,
      term: s.local.term,
      leaderId: s.local.leaderId,
      commitIndex: s.local.commit,
      appliedIndex: s.local.appliedIndex,
    };
    const global: TierStatus = s.seat
      ? { role: s.seat.role, term: s.seat.term, leaderId: s.seat.leaderId, commitIndex: s.seat.commit, appliedIndex: s.globalApplied }
      : { role: 'inactive', term: 0, leaderId: null, commitIndex: 0, appliedIndex: s.globalApplied };
    return {
      nodeId: this.node.nodeId,
      az: this.node.az,
      clusterId: this.clusterId,
      pkiLocalLeader: this.twoTier.hasLocalLease(),
      pkiGlobalLeader: this.twoTier.isGlobalLeader(),
      local,
      global,
      ready: this.keys() !== null && this.clusterId !== null && !learner,
    };
  }

  // ---- issuance and revocation ----

  async issue(request: IssueRequest): Promise<IssuedLeaf> {
    await this.readBarrier(); // the idempotency check must see every committed issuance
    const { sans, ...rest } = request;
    return this.issueLeaf({ ...rest, ...(sans ? { requestedSans: parseSans(sans) } : {}) });
  }

  /**
   * Renewal by the holder of a leaf of this AZ (leaves are local: only the issuing AZ holds the
   * record). A revocation is acknowledged only once applied in the issuing AZ
   * (revocation-routing.ts hands it there), and the read barrier makes every acknowledged
   * revocation visible here, so a revoked certificate never renews, on any node.
   */
  async renew(request: RenewRequest): Promise<IssuedLeaf> {
    await this.readBarrier();
    const store = this.node.app.store;
    const fields = readCertificateFields(request.currentCertDer);
    const record = (await store.findBySerial(fields.serialHex)).find((r) => r.kind === 'leaf' && bytesEqual(r.certDer, request.currentCertDer));
    if (record === undefined || record.kind !== 'leaf') {
      throw new PkiError('ERR_NOT_FOUND', `certificate ${fields.serialHex} was not issued as a leaf in AZ ${this.node.az}`, { field: 'certificate' });
    }
    const revocation = await store.getRevocation(record.issuerId, record.serialHex);
    if (revocation !== undefined) {
      throw new PkiError('ERR_REVOKED', `certificate ${record.serialHex} is revoked (${revocation.reason}): it cannot be renewed; issue a new one`, { field: 'certificate' });
    }
    if (this.node.options.nowMs() > record.notAfter) {
      throw new PkiError('ERR_EXPIRED', `certificate ${record.serialHex} expired at ${new Date(record.notAfter).toISOString()}: it cannot be renewed; issue a new one`, { field: 'certificate' });
    }
    const san = fields.extensions.get(OID_EXT.subjectAltName);
    return this.issueLeaf({
      csr: request.csr,
      profile: record.profile,
      requester: `renew:${record.issuerId}:${record.serialHex}`,
      requestedSans: san === undefined ? [] : decodeSubjectAltNames(san.value).sans,
    });
  }

  private async issueLeaf(request: Omit<IssueRequest, 'sans'> & { requestedSans?: SanEntry[] }): Promise<IssuedLeaf> {
    const store = this.node.app.store;
    if ((await store.getAz(this.node.az))?.phase === 'removing') throw new PkiError('ERR_AZ_REMOVING', `AZ ${this.node.az} is being removed: it issues nothing more`);
    const nodeIca = await this.nodeIca();
    const csr = typeof request.csr === 'string' ? { csrPem: request.csr } : { csrDer: request.csr };
    const built = await issueLeafFromCsr({
      nodeIca,
      ...csr,
      profileName: request.profile,
      ...(request.requestedSans ? { requestedSans: request.requestedSans } : {}),
      ...(request.lifetimeSeconds !== undefined ? { lifetimeSeconds: request.lifetimeSeconds } : {}),
      requester: request.requester,
      nowMs: this.node.options.nowMs(),
      serials: this.node.options.random,
      store,
      publicBaseUrl: await this.node.azPublicBaseUrl(this.node.az),
    });
    // For a retried request the earlier certificate answers, whichever node ICA signed it.
    let { certDer } = built;
    let { serialHex, notAfter, issuerId } = built.event;
    let duplicate = built.existing;
    if (!built.existing) {
      const outcome = await this.retryTransient(() => this.proposer.commit(built.event, 'local'));
      if (!outcome.ok) throw new PkiError(outcome.error.code, outcome.error.message);
      if (outcome.result.type === 'Issued' && outcome.result.duplicate) {
        ({ certDer, serialHex, notAfter, issuerId } = outcome.result.certificate);
        duplicate = true;
      }
    }
    const root = await this.rootPem();
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

  /**
   * Revokes a certificate of this AZ; one issued by another AZ is handed to that AZ (node/
   * revocation-routing.ts), so a client may ask any AZ. `forwarded` requests come from another
   * AZ and are never passed on again.
   */
  async revoke(request: RevokeRequest, forwarded = false): Promise<{ revokedAt: number }> {
    await this.readBarrier();
    const store = this.node.app.store;
    const routing = { request, az: this.node.az, store, peers: this.node.options.peers };
    const elsewhere = forwarded ? [] : await revocationTargetAzs(routing);
    if (elsewhere.length > 0) return forwardRevocation(routing, elsewhere);
    const issuerId = request.issuerId ?? (await this.issuerOfSerial(request.serialHex));
    const event = await buildRevocation({
      issuerId,
      serialHex: request.serialHex,
      reason: request.reason,
      nowMs: this.node.options.nowMs(),
      requestedBy: request.requestedBy,
      store,
    });
    const outcome = await this.proposer.commit(event, 'global');
    if (!outcome.ok) throw new PkiError(outcome.error.code, outcome.error.message);
    return { revokedAt: event.revokedAt };
  }

  /** The issuing AZ holds the certificate (another AZ hands revocations to it: revocation-routing.ts). */
  private async issuerOfSerial(serialHex: string): Promise<string> {
    const found = await this.node.app.store.findBySerial(serialHex);
    if (found.length === 1) return found[0]!.issuerId;
    if (found.length > 1) throw new PkiError('ERR_INPUT_INVALID', `serial ${serialHex} is used by several issuers: name the issuer`, { field: 'issuerId' });
    throw new PkiError('ERR_NOT_FOUND', `no certificate ${serialHex} was issued in AZ ${this.node.az}`, { field: 'serialHex' });
  }

  async getCertificate(serialHex: string): Promise<CertificateRecord[]> {
    await this.readBarrier();
    return this.node.app.store.findBySerial(serialHex);
  }

  /**
   * Linearizable reads (Raft thesis §6.4 ReadIndex on the local group): a follower first applies
   * everything its local leader had committed, so what any node acknowledged is visible here.
   */
  private async readBarrier(): Promise<void> {
    try {
      await this.twoTier.readIndex();
    } catch (e) {
      throw new PkiError('ERR_NO_LOCAL_QUORUM', `AZ ${this.node.az} cannot confirm a read now; retry`, { cause: e });
    }
  }

  async caBundle(): Promise<CaBundle> {
    const store = this.node.app.store;
    const cluster = await store.cluster();
    if (!cluster) throw new PkiError('ERR_NOT_FOUND', 'this node holds no cluster yet');
    const azIca = (await store.cas()).find((c) => c.role === 'az' && c.az === this.node.az);
    const rootPem = await this.rootPem();
    const own = await this.ownCaRecord();
    const chain = own ? await issuerChainPem(store, own.issuerId) : azIca ? toPem(azIca.certDer) : '';
    return { clusterId: cluster.clusterId, rootPem, azIcaPem: azIca ? toPem(azIca.certDer) : null, chainPem: chain + rootPem };
  }

  private async rootPem(): Promise<string> {
    const store = this.node.app.store;
    const cluster = await store.cluster();
    const root = cluster ? await store.getCa(cluster.rootIssuerId) : undefined;
    if (!root) throw new PkiError('ERR_NOT_FOUND', 'this node holds no root CA yet');
    return toPem(root.certDer);
  }

  private async ownCaRecord() {
    return (await this.node.app.store.cas()).find((c) => c.role === 'node' && c.nodeId === this.node.nodeId);
  }

  private async nodeIca(): Promise<CaHandle> {
    const keys = this.keys();
    const ca = await this.ownCaRecord();
    if (!keys || !ca) throw new PkiError('ERR_NOT_FOUND', `node ${this.node.nodeId} has no node ICA yet`, { field: 'nodeIca' });
    // A withdrawn node signs nothing more (its ICA is revoked: leaves under it would not validate).
    if (ca.revokedAt !== null) throw new PkiError('ERR_NODE_REVOKED', `node ${this.node.nodeId} was withdrawn: its node ICA is revoked`);
    return { cert: ca.certDer, signer: new KeyObjectSigner(keys.ica.privateKey), issuerId: ca.issuerId };
  }

  // ---- peers ----

  async handlePeer(from: string, request: PeerRequest): Promise<PeerResponse> {
    switch (request.kind) {
      case 'proposeLocal':
      case 'proposeGlobal': {
        decodeEvent(request.event); // refuse garbage before it reaches the log
        const tier = request.kind === 'proposeLocal' ? 'local' : 'global';
        return { kind: 'outcome', outcome: await this.proposer.commitHere(request.event, tier) };
      }
      case 'foundAz':
        if (!this.twoTier.isGlobalLeader()) throw new PkiError('ERR_NOT_LEADER', `${this.node.nodeId} is not the global leader`);
        return this.node.createAz(request);
      case 'register':
        return this.registerNode(request);
      case 'removeAz':
        return { kind: 'azRemoved', removal: await this.node.removeAzForPeer(request.name, request.requestedBy) };
      case 'revoke':
        return { kind: 'revoked', ...(await this.revoke(request, true)) };
      case 'ping':
        return { kind: 'pong', nodeId: this.node.nodeId, az: this.node.az, localLeader: this.twoTier.isLocalLeader(), appliedSeq: this.twoTier.status().seq };
      default:
        throw new PkiError('ERR_INPUT_INVALID', `unknown peer request from ${from}`);
    }
  }

  /** On the local leader: sign the newcomer's node ICA and TLS certificates, add it as a learner. */
  private async registerNode(r: Extract<PeerRequest, { kind: 'register' }>): Promise<PeerResponse> {
    if (!this.twoTier.isLocalLeader()) throw new PkiError('ERR_NOT_LEADER', `${this.node.nodeId} is not the local leader of ${this.node.az}`);
    if (r.az !== this.node.az) throw new PkiError('ERR_WRONG_AZ', `node ${r.nodeId} asks AZ ${this.node.az} to register it in ${r.az}`);
    const azIcaRecord = (await this.node.app.store.cas()).find((c) => c.role === 'az' && c.az === this.node.az);
    // A founder answers before its AZ's state has the AZ ICA from the global log: not yet, not never.
    if (!azIcaRecord) throw new PkiError('ERR_NOT_READY', `AZ ${this.node.az} has not received its AZ ICA from the global log yet; retry`);
    const answer = await this.registerWith(caSignerFromRecord(azIcaRecord, this.node.options.kek), r);
    // Membership changes go one at a time: the registered node joins the local group as a
    // learner from maintenance (advanceLocalMembers), now if nothing else is pending.
    await this.advanceLocalMembers();
    return answer;
  }

  /**
   * Signs a node's ICA and TLS certificates with its AZ ICA and commits them globally. A node id
   * registers once; the founder of an AZ retrying a lost answer gets its certificates again.
   */
  async registerWith(azIca: CaHandle, r: { nodeId: string; az: string; addresses: NodeAddresses; icaCsrDer: Uint8Array; tlsCsrDer: Uint8Array }): Promise<PeerResponse> {
    const store = this.node.app.store;
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
      nowMs: this.node.options.nowMs(),
      serials: this.node.options.random,
      publicBaseUrl: await this.node.azPublicBaseUrl(r.az),
    });
    for (const ev of signed.events) await this.node.commitOk(ev, 'global');
    return { kind: 'registered', icaCertDer: signed.icaCertDer, tlsCertDer: signed.tlsCertDer };
  }

  /**
   * The global leader adds an AZ's seat: learner first, voter once caught up (thesis §4.2.1).
   * Membership changes go one at a time, so seats founded together queue here and maintenance
   * moves each along as the previous change is applied.
   */
  addSeat(az: string): void {
    this.pendingSeats.add(az);
    this.advanceSeats();
  }

  // ---- scheduled work ----

  private async maintain(): Promise<void> {
    if (this.stopped || this.maintaining) return;
    this.maintaining = true;
    try {
      this.clusterId = (await this.node.app.store.cluster())?.clusterId ?? null;
      // A withdrawn node (removed, or its AZ decommissioned) stops acting: as local leader it only
      // hands its role to another voter, which then takes it out of the group.
      if (await this.selfWithdrawn()) {
        if (this.twoTier.isLocalLeader()) await this.advanceLocalMembers();
        return;
      }
      if (this.twoTier.isLocalLeader()) {
        await this.advanceLocalMembers();
        await this.checkAzHealth();
      } else if (!this.twoTier.isGlobalLeader()) {
        this.health.clear();
      }
      if (this.twoTier.isGlobalLeader()) {
        await this.pruneRemovedSeats();
        this.advanceSeats();
      }
      // Seed 000: the global leader checks the AZ seats. Every local leader does too, so whichever
      // AZ a client asks names every AZ's local leader and the global leader (its status and map).
      if (this.twoTier.isGlobalLeader() || this.twoTier.isLocalLeader()) await this.checkOtherAzs();
      else this.remoteLeaders.clear();
      await this.refreshOwnCrl();
      if (this.twoTier.hasLocalLease()) await this.refreshAzCrl();
      if (this.twoTier.isGlobalLeader()) await this.refreshRootCrl();
    } catch (e) {
      if (!isPkiError(e) || !TRANSIENT.has(e.code)) this.node.options.onError?.(e);
    } finally {
      this.maintaining = false;
    }
  }

  private async checkAzHealth(): Promise<void> {
    const members = (await this.node.app.store.nodes()).filter((n) => n.az === this.node.az && n.nodeId !== this.node.nodeId);
    await this.probe(members.map((n) => n.nodeId));
  }

  /** The other AZs' nodes are pinged; their answers name each AZ's local leader. */
  private async checkOtherAzs(): Promise<void> {
    const others = (await this.node.app.store.nodes()).filter((n) => n.az !== this.node.az);
    const leaders = new Map<string, string>();
    for (const [nodeId, pong] of await this.probe(others.map((n) => n.nodeId))) if (pong.localLeader) leaders.set(pong.az, nodeId);
    this.remoteLeaders.clear();
    for (const [az, id] of leaders) this.remoteLeaders.set(az, id);
  }

  /** Pings nodes, records their health, and returns the answers. */
  private async probe(nodeIds: readonly string[]): Promise<Map<string, Extract<PeerResponse, { kind: 'pong' }>>> {
    const now = this.node.options.nowMs();
    const answers = new Map<string, Extract<PeerResponse, { kind: 'pong' }>>();
    await Promise.all(
      nodeIds.map(async (id) => {
        const r = await this.node.options.peers.call(id, { kind: 'ping' }).catch(() => null);
        if (r?.kind === 'pong') answers.set(id, r);
        this.health.set(id, recordProbe(this.health.get(id) ?? newHealthRecord(now), { ok: r?.kind === 'pong', nowMs: now }));
      }),
    );
    return answers;
  }

  /** Local leaders of other AZs as the global leader last saw them. */
  otherAzLeaders(): ReadonlyMap<string, string> {
    return this.remoteLeaders;
  }

  /** Health of a node of this AZ as its local leader sees it; null where this node does not check. */
  healthOf(nodeId: string): HealthState | null {
    if (nodeId === this.node.nodeId) return 'healthy';
    const r = this.health.get(nodeId);
    return r ? healthOf(r, this.node.options.nowMs(), HEALTH_POLICY) : null;
  }

  /**
   * One local membership step (thesis §4.2.1, one change at a time): a member recorded withdrawn
   * in the state (`NodeRemoved` from any AZ's admin, through the global log) leaves the group —
   * this leader itself only after handing its role to another voter (thesis §3.10); else a
   * registered node of this AZ not yet in the group joins as a learner; else a learner that has
   * caught up with the leader's log becomes a voter.
   */
  private async advanceLocalMembers(): Promise<void> {
    const s = this.twoTier.status().local;
    if (s.role !== 'leader') return;
    const store = this.node.app.store;
    const [registered, withdrawn, ownAz] = await Promise.all([store.nodes(), this.withdrawnNodes(), store.getAz(this.node.az)]);
    const members = [...s.confState.voters, ...s.confState.learners];
    const leaving = members.find((id) => withdrawn.has(id) && id !== this.node.nodeId);
    if (!leaving && withdrawn.has(this.node.nodeId)) return this.handOffLocalLeadership(s);
    // An AZ being removed takes in no one (its seat is leaving the global group).
    const accepting = ownAz !== undefined && ownAz.phase !== 'removing';
    const joining = accepting ? registered.find((n) => n.az === this.node.az && !members.includes(n.nodeId)) : undefined;
    const caughtUp = s.confState.learners.find((id) => !withdrawn.has(id) && (s.progress?.[id]?.match ?? -1) >= s.commit);
    const change = leaving
      ? { op: 'removeNode' as const, nodeId: leaving }
      : joining
        ? { op: 'addLearner' as const, nodeId: joining.nodeId }
        : caughtUp
          ? { op: 'addVoter' as const, nodeId: caughtUp }
          : null;
    // A change already pending is refused by the core: the next maintenance round tries again.
    if (change) await this.twoTier.changeLocalMembership({ changes: [change] }).catch(() => {});
  }

  /** Node ids of this AZ whose node ICA is revoked and that are no longer registered (removeNode's end state). */
  private async withdrawnNodes(): Promise<Set<string>> {
    const store = this.node.app.store;
    const [registered, cas] = await Promise.all([store.nodes(), store.cas()]);
    const live = new Set(registered.map((n) => n.nodeId));
    return new Set(cas.filter((c) => c.role === 'node' && c.nodeId !== null && c.revokedAt !== null && !live.has(c.nodeId)).map((c) => c.nodeId!));
  }

  private async selfWithdrawn(): Promise<boolean> {
    return (await this.withdrawnNodes()).has(this.node.nodeId);
  }

  /** Thesis §3.10: to the most caught-up other voter; with no other voter the AZ has no one to hand to. */
  private async handOffLocalLeadership(s: ReturnType<TwoTierNode<PkiApplyResult>['status']>['local']): Promise<void> {
    const others = s.confState.voters.filter((id) => id !== this.node.nodeId);
    const best = others.sort((a, b) => (s.progress?.[b]?.match ?? 0) - (s.progress?.[a]?.match ?? 0))[0];
    if (best !== undefined) await this.twoTier.transferLocalLeadership(best).catch(() => {});
  }

  /** Seats of AZs being removed or gone are never (re)added: az-admin.ts takes them out. */
  private async pruneRemovedSeats(): Promise<void> {
    for (const az of [...this.pendingSeats]) {
      const rec = await this.node.app.store.getAz(az);
      if (!rec || rec.phase === 'removing') this.pendingSeats.delete(az);
    }
    this.retiringSeats.clear();
    for (const rec of await this.node.app.store.azs()) if (rec.phase === 'removing') this.retiringSeats.add(rec.name);
  }

  /** One global membership step for the queued seats: add a learner, or promote a caught-up one. */
  private advanceSeats(): void {
    const s = this.twoTier.status().seat;
    if (!s || s.role !== 'leader') return;
    for (const az of [...this.pendingSeats, ...s.confState.learners]) {
      if (this.retiringSeats.has(az)) continue;
      if (s.confState.voters.includes(az)) {
        this.pendingSeats.delete(az);
        continue;
      }
      const learner = s.confState.learners.includes(az);
      const p = s.progress?.[az];
      if (learner && !(p && p.match >= s.commit)) continue;
      try {
        this.twoTier.changeGlobalMembership({ changes: [{ op: learner ? 'addVoter' : 'addLearner', nodeId: az }] });
      } catch {
        // Another change is pending: the next maintenance round tries again.
      }
      return;
    }
  }

  private async refreshOwnCrl(): Promise<void> {
    if (!this.keys()) return;
    const ca = await this.ownCaRecord();
    if (ca && ca.revokedAt === null) await this.refreshCrl(await this.nodeIca(), 'local');
  }

  private async refreshAzCrl(): Promise<void> {
    const rec = (await this.node.app.store.cas()).find((c) => c.role === 'az' && c.az === this.node.az);
    if (rec) await this.refreshCrl(caSignerFromRecord(rec, this.node.options.kek), 'local');
  }

  private async refreshRootCrl(): Promise<void> {
    const store = this.node.app.store;
    const cluster = await store.cluster();
    const root = cluster ? await store.getCa(cluster.rootIssuerId) : undefined;
    if (root?.wrappedKey) await this.refreshCrl(caSignerFromRecord(root, this.node.options.kek), 'global');
  }

  /** A new CRL when the latest misses a held revocation, or half its validity has passed (crlNeedsRefresh). */
  private async refreshCrl(issuer: CaHandle, tier: 'local' | 'global'): Promise<void> {
    const store = this.node.app.store;
    const now = this.node.options.nowMs();
    const latest = await store.latestCrl(issuer.issuerId);
    const revoked = await store.listRevoked(issuer.issuerId);
    if (!crlNeedsRefresh({ latest, revoked, nowMs: now })) return;
    const { event } = await buildCrlEvent({ issuer, store, nowMs: now, nextUpdateSeconds: this.node.options.crlNextUpdateSeconds ?? 24 * 3600 });
    await this.proposer.commit(event, tier);
  }

  // ---- helpers ----

  /** Retries while leaders change (bounded by the consensus request timeouts behind each try). */
  async retryTransient<T>(op: () => Promise<T>, attempts = 20): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await op();
      } catch (e) {
        if (this.stopped || i >= attempts || !isPkiError(e) || !TRANSIENT.has(e.code)) throw e;
        await this.sleepTicks(5);
      }
    }
  }

  async waitFor<T>(what: string, check: () => T | null | undefined | false | Promise<T | null | undefined | false>, ticks = 2000): Promise<T> {
    for (let i = 0; i < ticks; i++) {
      if (this.stopped) throw new PkiError('ERR_STOPPED', `stopped while waiting for ${what}`);
      const v = await check();
      if (v) return v;
      await this.sleepTicks(1);
    }
    throw new PkiError('ERR_TIMEOUT', `timed out waiting for ${what}`);
  }

  private sleepTicks(n: number): Promise<void> {
    return sleepTicks(this.node.options, n);
  }
}

/** `dns:a.example`, `ip:10.0.0.1`, `uri:spiffe://…`, `email:a@b`, or a bare value. */
export function parseSans(texts: readonly string[]): SanEntry[] {
  return texts.map((t, i) => parseSanText(t, `sans[${i}]`));
}
