// What an operator watches on one node, beyond `status()` (the server's dashboard, /metrics and
// `adrestia-pki status` read it): each tier's membership and, on a leader, how far each member's
// log trails its own (Raft §5.3: the leader tracks matchIndex per follower), which VIPs this node
// holds, and the CA certificates, CRLs and revocations as applied here. Every part is public
// except where a field says otherwise; the state reads are local and possibly stale, like
// `listNodes` (PkiNodeApi), since an operator page must answer while an AZ has no quorum.
import type { RaftStatus } from '@adrestia/consensus';
import type { CaRole, CrlReason } from '../../state/events.ts';
import { readCertificateFields } from '../../ca/cert-fields.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { indirectCrlKey } from '../../state/indirect-crl-key.ts';
import type { CaRecord, CrlRecord } from '../../state/records.ts';
import { AZ_ICA_LEAD_SECONDS, nodeIcaLeadSeconds } from '../ca/renewal-leads.ts';
import { renewAtMs } from '../ca/renewal-policy.ts';
import type { PkiTwoTier } from '../core/roles.ts';

/** One member of a tier as its leader sees it (Raft §5.3 matchIndex). */
export interface MemberReplication {
  /** Node id (local tier) or AZ name (global tier: the AZ's seat). */
  id: string;
  matchIndex: number;
  /** Entries the member's log trails the leader's last index by. */
  lagEntries: number;
  /** The leader heard from it within the last election timeout (check quorum). */
  recentActive: boolean;
  learner: boolean;
}

export interface TierReport {
  /** Voting members: node ids (local tier), AZ names (global tier); empty where this node does not see the tier. */
  voters: string[];
  learners: string[];
  lastIndex: number;
  /** Committed but not yet applied here. */
  applyLagEntries: number;
  /** Only on the tier's leader: every member but the leader itself. */
  members: MemberReplication[] | null;
}

export interface VipHolding {
  address: string;
  scope: 'local' | 'global';
  held: boolean;
}

export interface CaExpiry {
  issuerId: string;
  role: CaRole;
  az: string | null;
  nodeId: string | null;
  notAfterMs: number;
  revoked: boolean;
  /**
   * When its renewal is due (node/ca/renewal-policy.ts); null for the root (rolled over by an
   * operator), a revoked CA, and one already replaced by a later CA of its role.
   */
  renewAtMs: number | null;
}

/** The OCSP responder certificate an issuer gave this node's AZ (node/ocsp): what signs answers here. */
interface OcspSignerReport {
  issuerId: string;
  issuedAtMs: number;
  notAfterMs: number;
}

export interface CrlReport {
  issuerId: string;
  crlNumber: number;
  thisUpdateMs: number;
  nextUpdateMs: number;
  bytes: number;
}

export interface OperatorReport {
  local: TierReport;
  global: TierReport;
  vips: VipHolding[];
  /** Soonest expiry first. */
  cas: CaExpiry[];
  crls: CrlReport[];
  /** Per issuer with a responder certificate for this AZ. */
  ocspSigners: OcspSignerReport[];
  /** Revocations held (not yet pruned after the certificate's expiry), per issuer id. */
  revocationsByIssuer: Record<string, number>;
}

export interface RecentRevocation {
  issuerId: string;
  serialHex: string;
  reason: CrlReason;
  revokedAtMs: number;
  requestedBy: string;
}

/** What the VIP fences say about holding (vip/vip-manager.ts). */
export interface VipHoldings {
  holding(address: string): boolean;
}

type ReportTwoTier = Pick<PkiTwoTier, 'status'>;

export class OperatorReports {
  constructor(
    private readonly twoTier: ReportTwoTier,
    private readonly state: () => PkiStateQueries,
    private readonly vips: { settings: { localVip: string | null; globalVip: string | null }; holdings: VipHoldings | null },
    private readonly az: string,
  ) {}

  async report(): Promise<OperatorReport> {
    const s = this.twoTier.status();
    const store = this.state();
    const [cas, revocations] = await Promise.all([store.cas(), store.revocations()]);
    // Each CRL by the name it is served under (`/crl/<name>.crl`): an AZ ICA's indirect CRL as `<AZ ICA>-indirect`.
    const crlOf = (name: string, c: CrlRecord | undefined): CrlReport[] =>
      c === undefined ? [] : [{ issuerId: name, crlNumber: c.crlNumber, thisUpdateMs: c.thisUpdate, nextUpdateMs: c.nextUpdate, bytes: c.crlDer.byteLength }];
    const crls = [
      ...(await Promise.all(cas.map(async (ca) => crlOf(ca.issuerId, await store.latestCrl(ca.issuerId))))).flat(),
      ...(await Promise.all(cas.filter((ca) => ca.role === 'az').map(async (ca) => crlOf(indirectCrlKey(ca.issuerId), await store.latestIndirectCrl(ca.issuerId))))).flat(),
    ];
    const ocspSigners = (await Promise.all(cas.map((ca) => store.ocspResponderCert(ca.issuerId, this.az)))).flatMap((c) =>
      c === undefined ? [] : [{ issuerId: c.issuerId, issuedAtMs: c.issuedAt, notAfterMs: c.notAfter }],
    );
    const nodeLeadSeconds = await nodeIcaLeadSeconds(store);
    const revocationsByIssuer: Record<string, number> = {};
    for (const r of revocations) revocationsByIssuer[r.issuerId] = (revocationsByIssuer[r.issuerId] ?? 0) + 1;
    return {
      local: tierReport(s.local, s.local.appliedIndex),
      global: s.seat === null ? emptyTier() : tierReport(s.seat, s.globalApplied),
      vips: this.vipHoldings(),
      cas: cas
        .map((ca) => ({
          issuerId: ca.issuerId,
          role: ca.role,
          az: ca.az,
          nodeId: ca.nodeId,
          notAfterMs: ca.notAfter,
          revoked: ca.revokedAt !== null,
          renewAtMs: renewalOf(ca, cas, nodeLeadSeconds),
        }))
        .sort((a, b) => a.notAfterMs - b.notAfterMs),
      crls,
      ocspSigners,
      revocationsByIssuer,
    };
  }

  /**
   * Admin only (who asked is not public): the latest revocations as applied here, newest first,
   * at most `countMax`.
   */
  async recentRevocations(countMax: number): Promise<RecentRevocation[]> {
    const all = await this.state().revocations();
    return all
      .sort((a, b) => b.revokedAt - a.revokedAt)
      .slice(0, countMax)
      .map((r) => ({ issuerId: r.issuerId, serialHex: r.serialHex, reason: r.reason, revokedAtMs: r.revokedAt, requestedBy: r.requestedBy }));
  }

  private vipHoldings(): VipHolding[] {
    const { settings, holdings } = this.vips;
    const out: VipHolding[] = [];
    if (settings.localVip) out.push({ address: settings.localVip, scope: 'local', held: holdings?.holding(settings.localVip) ?? false });
    if (settings.globalVip) out.push({ address: settings.globalVip, scope: 'global', held: holdings?.holding(settings.globalVip) ?? false });
    return out;
  }
}

/** renewAtMs for an AZ or node ICA still in use: unrevoked, and no later CA of its role (same AZ, same node). */
function renewalOf(ca: CaRecord, all: readonly CaRecord[], nodeLeadSeconds: number): number | null {
  if (ca.role === 'root' || ca.revokedAt !== null) return null;
  const replaced = all.some((o) => o !== ca && o.role === ca.role && o.az === ca.az && o.nodeId === ca.nodeId && o.revokedAt === null && o.notAfter > ca.notAfter);
  if (replaced) return null;
  const window = { notBeforeMs: readCertificateFields(ca.certDer).notBefore.getTime(), notAfterMs: ca.notAfter };
  return renewAtMs(window, ca.role === 'az' ? AZ_ICA_LEAD_SECONDS : nodeLeadSeconds);
}

function emptyTier(): TierReport {
  return { voters: [], learners: [], lastIndex: 0, applyLagEntries: 0, members: null };
}

/** `applied`: the tier's index applied here (the global tier's is the seat log's, TwoTierStatus.globalApplied). */
function tierReport(raft: RaftStatus, applied: number): TierReport {
  const members =
    raft.progress === undefined
      ? null
      : Object.entries(raft.progress)
          .filter(([id]) => id !== raft.id)
          .map(([id, p]) => ({ id, matchIndex: p.match, lagEntries: Math.max(0, raft.lastIndex - p.match), recentActive: p.recentActive, learner: p.isLearner }));
  return {
    voters: [...raft.confState.voters],
    learners: [...raft.confState.learners],
    lastIndex: raft.lastIndex,
    applyLagEntries: Math.max(0, raft.commit - applied),
    members,
  };
}
