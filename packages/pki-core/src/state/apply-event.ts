// applyEvent: the replicated PKI state machine's transition function. Deterministic by
// construction: its only inputs are the state view, the event and the entry's index; it never
// reads a clock, draws randomness or signs (docs/architecture.md §4). Each event runs in its own
// overlay, so a rejected event leaves the batch exactly as it found it.
import type { PkiEvent, PkiEventType } from './events.ts';
import {
  applyAzAdded,
  applyAzDeclared,
  applyAzFounded,
  applyAzRemovalStarted,
  applyAzRefounded,
  applyAzRemoved,
  applyClusterCreated,
  applyClusterSettingsSet,
  applyJoinTokenIssued,
  applyJoinTokenUsed,
  applyNodeRegistered,
  applyNodeActivityMarked,
  applyNodeRemoved,
  applyNodeRenewed,
  applyProfileRemoved,
  applyProfileSet,
} from './apply-cluster.ts';
import {
  applyCaCertificateInstalled,
  applyCaKeyRewrapped,
  applyCrlPublished,
  applyExpiredPruned,
  applyIssued,
  applyRevoked,
} from './apply-certs.ts';
import { applyDeltaCrlPublished, applyIndirectCrlPublished, applyPartitionCrlPublished } from './apply-crl-delta.ts';
import { applyRootRolledOver } from './apply-root-rollover.ts';
import { applyOcspResponderCertified, applyOcspResponderKeyInstalled } from './apply-ocsp.ts';
import {
  applyAcmeAccountCreated,
  applyAcmeAccountKeyChanged,
  applyAcmeAccountUpdated,
  applyAcmeAuthzDeactivated,
  applyAcmeChallengeValidated,
  applyAcmeEabKeyCreated,
  applyAcmeOrderCreated,
  applyAcmeOrderFinalized,
} from './apply-acme.ts';
import { applyProvisionerAdded, applyProvisionerRemoved, applyProvisionerTokenUsed } from './apply-provisioners.ts';
import { applyAuditCheckpoint } from './audit-chain.ts';
import { Rejection, type ApplyMeta, type ApplyOutcome, type ApplyResult } from './outcome.ts';
import { Overlay, StateTxn } from './txn.ts';

type Handler<T extends PkiEventType> = (tx: StateTxn, ev: Extract<PkiEvent, { type: T }>, meta: ApplyMeta) => Promise<ApplyResult>;

const HANDLERS: { [T in PkiEventType]: Handler<T> } = {
  ClusterCreated: applyClusterCreated,
  ClusterSettingsSet: applyClusterSettingsSet,
  AzAdded: applyAzAdded,
  AzDeclared: applyAzDeclared,
  AzFounded: applyAzFounded,
  AzRemovalStarted: applyAzRemovalStarted,
  AzRemoved: applyAzRemoved,
  AzRefounded: applyAzRefounded,
  CaCertificateInstalled: applyCaCertificateInstalled,
  CaKeyRewrapped: applyCaKeyRewrapped,
  RootRolledOver: applyRootRolledOver,
  NodeRegistered: applyNodeRegistered,
  NodeRenewed: applyNodeRenewed,
  NodeRemoved: applyNodeRemoved,
  NodeActivityMarked: applyNodeActivityMarked,
  Issued: applyIssued,
  Revoked: applyRevoked,
  CrlPublished: applyCrlPublished,
  ProfileSet: applyProfileSet,
  ProfileRemoved: applyProfileRemoved,
  ExpiredPruned: applyExpiredPruned,
  JoinTokenIssued: applyJoinTokenIssued,
  JoinTokenUsed: applyJoinTokenUsed,
  OcspResponderKeyInstalled: applyOcspResponderKeyInstalled,
  OcspResponderCertified: applyOcspResponderCertified,
  DeltaCrlPublished: applyDeltaCrlPublished,
  IndirectCrlPublished: applyIndirectCrlPublished,
  PartitionCrlPublished: applyPartitionCrlPublished,
  AcmeAccountCreated: applyAcmeAccountCreated,
  AcmeAccountUpdated: applyAcmeAccountUpdated,
  AcmeAccountKeyChanged: applyAcmeAccountKeyChanged,
  AcmeEabKeyCreated: applyAcmeEabKeyCreated,
  AcmeOrderCreated: applyAcmeOrderCreated,
  AcmeChallengeValidated: applyAcmeChallengeValidated,
  AcmeAuthzDeactivated: applyAcmeAuthzDeactivated,
  AcmeOrderFinalized: applyAcmeOrderFinalized,
  ProvisionerAdded: applyProvisionerAdded,
  ProvisionerRemoved: applyProvisionerRemoved,
  ProvisionerTokenUsed: applyProvisionerTokenUsed,
  AuditCheckpoint: applyAuditCheckpoint,
};

/**
 * Applies one decoded event on top of `state`. Accepted writes land in `state`'s overlay;
 * a rejection returns `{ ok: false }` with a stable code and writes nothing. Any other
 * exception is a broken invariant or an I/O failure: the caller must not commit the batch.
 */
export async function applyEvent(state: StateTxn, event: PkiEvent, meta: ApplyMeta): Promise<ApplyOutcome> {
  if (!Number.isSafeInteger(meta.index) || meta.index < 1) throw new TypeError(`meta.index must be a positive integer`);
  const scratch = new Overlay(state.overlay);
  const handler = HANDLERS[event.type] as Handler<typeof event.type>;
  try {
    const result = await handler(new StateTxn(scratch), event, meta);
    scratch.mergeInto(state.overlay);
    return { ok: true, result };
  } catch (e) {
    if (e instanceof Rejection) return { ok: false, error: { code: e.code, message: e.message } };
    throw e;
  }
}
