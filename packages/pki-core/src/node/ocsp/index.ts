// The OCSP capability (docs/architecture.md §14): responders provisioned ahead of need, and the
// responder that answers any certificate of the cluster on any node.
import { OcspIssuers } from './ocsp-issuers.ts';
import { OcspProvisioning, type OcspProvisioningLimits } from './ocsp-provisioning.ts';
import { OcspResponder, type OcspAnswer, type OcspResponderLimits } from './ocsp-responder.ts';
import { OcspSigners } from './ocsp-signers.ts';
import { OcspStatusLookup } from './ocsp-status.ts';
import type { OwnCa } from '../ca/own-ca.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { ReadView } from '../core/read-view.ts';
import type { RoleView } from '../core/roles.ts';
import type { MaintenanceRegistry } from '../maintenance/index.ts';
import type { PeerRequest, PeerResponse } from '../peer/protocol.ts';

export type { OcspAnswer, OcspOutcome } from './ocsp-responder.ts';

export type OcspLimits = OcspProvisioningLimits & OcspResponderLimits;

/** Bounds on the options (PkiNodeOptions): an answer lives 1 minute to 1 day, a responder certificate 1 hour to 90 days. */
const LIMIT_BOUNDS: Record<keyof OcspLimits, { option: string; min: number; max: number }> = {
  validitySeconds: { option: 'ocspValiditySeconds', min: 60, max: 24 * 3600 },
  responderLifetimeSeconds: { option: 'ocspResponderLifetimeSeconds', min: 3600, max: 90 * 24 * 3600 },
  cachedAnswersMax: { option: 'cachedAnswersMax', min: 1, max: 1_000_000 },
};

/** TypeError naming the option when a limit is out of bounds (PkiNode.start checks before anything starts). */
export function checkOcspLimits(limits: OcspLimits): void {
  for (const [key, b] of Object.entries(LIMIT_BOUNDS) as [keyof OcspLimits, (typeof LIMIT_BOUNDS)[keyof OcspLimits]][]) {
    const v = limits[key];
    if (!Number.isSafeInteger(v) || v < b.min || v > b.max) throw new TypeError(`PkiNodeOptions.${b.option} must be an integer in ${b.min}..${b.max}`);
  }
}

export class Ocsp {
  private readonly responder: OcspResponder;
  private readonly lookup: OcspStatusLookup;

  constructor(
    ctx: Pick<NodeContext, 'nodeId' | 'az' | 'kek' | 'nowMs' | 'random' | 'caKeyType' | 'ownKeys' | 'publicHttpPort' | 'peers' | 'onError'>,
    roles: RoleView,
    reads: ReadView,
    ownCa: OwnCa,
    committer: Committer,
    otherAzLeaders: () => ReadonlyMap<string, string>,
    limits: OcspLimits,
    maintenance: MaintenanceRegistry,
  ) {
    const state = () => reads.applied();
    new OcspProvisioning(ctx, roles, state, ownCa, committer, limits, maintenance);
    this.lookup = new OcspStatusLookup(ctx, reads, otherAzLeaders);
    this.responder = new OcspResponder(ctx, new OcspIssuers(state), this.lookup, new OcspSigners(ctx, state, ownCa), limits);
  }

  /** Answers a DER OCSPRequest with a DER OCSPResponse; never throws (ocsp-responder.ts). */
  answer(requestDer: Uint8Array): Promise<OcspAnswer> {
    return this.responder.answer(requestDer);
  }

  /** A peer's `ocspStatus`: this AZ issued the certificates. */
  answerStatus(request: Extract<PeerRequest, { kind: 'ocspStatus' }>): Promise<PeerResponse> {
    return this.lookup.answerPeer(request);
  }
}
