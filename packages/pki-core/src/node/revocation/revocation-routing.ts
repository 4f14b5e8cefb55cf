// A revocation asked of an AZ that did not issue the certificate. Only the issuing AZ holds the
// certificate (`Issued` is a local event) and with it the notAfter a revocation records, so the
// request is handed to a node of that AZ, which commits `Revoked` globally as if asked itself.
// The issuer names its AZ (node ICA records are global); a request without an issuer asks every
// other AZ in turn, since serials are 128 random bits and unique across the cluster in practice.
// One hop only: a node answering a forwarded request never forwards it again.
import { PkiError, isPkiError, type PkiErrorCode } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { asPkiCode } from '../core/event-proposer.ts';
import type { PeerClient, PeerRequest } from '../peer/protocol.ts';
import type { RevokeRequest } from '../pki-node-api.ts';

/** Answers that settle the request: any other failure of one node lets the next one try. */
const FINAL_CODES: ReadonlySet<PkiErrorCode> = new Set(['ERR_ALREADY_REVOKED', 'ERR_INPUT_INVALID', 'ERR_SERIAL_INVALID']);

export interface RevocationRoutingInput {
  readonly request: RevokeRequest;
  /** This node's AZ (never asked). */
  readonly az: string;
  readonly store: PkiStateQueries;
  readonly peers: PeerClient;
}

/**
 * The other AZs to ask, empty when this AZ answers itself: the issuer's AZ when the issuer is
 * another AZ's node ICA; every other AZ when no issuer is named and no certificate of this AZ
 * has the serial. CA certificates and node TLS certificates are global records: any AZ revokes them.
 */
export async function revocationTargetAzs(input: Omit<RevocationRoutingInput, 'peers'>): Promise<string[]> {
  const { request, az, store } = input;
  if (request.issuerId !== undefined) {
    const ca = await store.getCa(request.issuerId);
    if (ca?.role !== 'node' || ca.az === null || ca.az === az) return [];
    // An AZ with no registered node (lost, not yet re-founded: admin/az-refound.ts) cannot be
    // asked; its withdrawn node ICAs' leaves are revoked here (ca-revocation.ts buildRevocation).
    const issuingAz = ca.az;
    return (await store.nodes()).some((n) => n.az === issuingAz) ? [issuingAz] : [];
  }
  if ((await store.findBySerial(request.serialHex)).length > 0) return [];
  return (await store.azs()).map((a) => a.name).filter((name) => name !== az);
}

/**
 * Hands the revocation to the nodes of each target AZ in turn until one commits it. A refusal
 * that settles it (already revoked, bad input) is passed on as is; ERR_NOT_FOUND from every AZ
 * means no AZ issued the certificate; when no node of an AZ that may hold it could be reached,
 * the caller gets ERR_TIMEOUT and may retry.
 */
export async function forwardRevocation(input: RevocationRoutingInput, targetAzs: readonly string[]): Promise<{ revokedAt: number }> {
  const { request, store, peers } = input;
  const message: PeerRequest = {
    kind: 'revoke',
    serialHex: request.serialHex,
    ...(request.issuerId === undefined ? {} : { issuerId: request.issuerId }),
    reason: request.reason,
    requestedBy: request.requestedBy,
  };
  const nodes = await store.nodes();
  type Failure = { az: string; code: PkiErrorCode; message: string };
  let unsettled: Failure | null = null;
  for (const az of targetAzs) {
    let notThere = false;
    let failure: Failure = { az, code: 'ERR_TIMEOUT', message: 'it has no registered node' };
    for (const node of nodes.filter((n) => n.az === az)) {
      const answer = await peers.call(node.nodeId, message).catch((e: unknown) => (isPkiError(e) ? e : new PkiError('ERR_TIMEOUT', String(e))));
      if (answer instanceof PkiError) {
        failure = { az, code: answer.code, message: answer.message };
        continue;
      }
      if (answer.kind === 'revoked') return { revokedAt: answer.revokedAt };
      if (answer.kind !== 'error') continue;
      const code = asPkiCode(answer.code);
      if (FINAL_CODES.has(code)) throw new PkiError(code, answer.message, { field: 'serialHex' });
      if (code === 'ERR_NOT_FOUND') {
        notThere = true;
        break;
      }
      failure = { az, code, message: answer.message };
    }
    if (!notThere) unsettled = failure;
  }
  // The issuing AZ may hold it but could not commit now (e.g. ERR_NO_GLOBAL_QUORUM): say so.
  if (unsettled !== null) throw new PkiError(unsettled.code, `AZ ${unsettled.az}, which may have issued ${request.serialHex}, could not revoke it now: ${unsettled.message}`);
  throw new PkiError('ERR_NOT_FOUND', `no AZ issued a certificate ${request.serialHex}${request.issuerId ? ` from ${request.issuerId}` : ''}`, { field: 'serialHex' });
}
