// Revocations and CRLs as events. A revocation is checked against the state the proposer holds
// (the issuing AZ: state/README.md "a revoke API should check the certificate in the issuing AZ
// before proposing"); the state machine decides again on apply. A CRL lists every revocation of
// its issuer still held (RFC 5280 §3.3: entries leave after the certificate expires) under the
// next CRL number (§5.2.3).
import { buildCrl, type RevokedEntry } from '../../ca/crl.ts';
import { crlListedSerials } from '../../ca/crl-entries.ts';
import { REVOCATION_REASONS } from '../../ca/crl-reasons.ts';
import { normalizeSerialHex } from '../../ca/serial.ts';
import { truncateToSeconds } from '../../ca/time.ts';
import { PkiError } from '../../errors.ts';
import type { CrlPublishedEvent, CrlReason, DeltaCrlPublishedEvent, RevokedEvent } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord, NodeRecord, RevocationRecord } from '../../state/records.ts';
import { checkNow, type CaHandle } from './ca-common.ts';
import { authorityKeyIdOf, readCertificateFields, type CertificateFields } from '../../ca/cert-fields.ts';
import { toHex } from '../../ca/der.ts';

export interface BuildRevocationInput {
  readonly issuerId: string;
  /** Any hex form (`normalizeSerialHex`): colons, `0x`, upper case. */
  readonly serialHex: string;
  readonly reason: CrlReason;
  readonly nowMs: number;
  /** Who asked (an account, a node id, `operator`), recorded with the revocation. */
  readonly requestedBy: string;
  readonly store: PkiStateQueries;
}

/**
 * A `Revoked` event for a certificate the state holds and has not revoked: ERR_NOT_FOUND for an
 * unknown certificate, ERR_ALREADY_REVOKED for a second revocation, ERR_INPUT_INVALID for an
 * unknown reason. `removeFromCRL` is refused: it only undoes a hold in delta CRLs (RFC 5280 §5.3.1).
 */
export async function buildRevocation(input: BuildRevocationInput): Promise<RevokedEvent> {
  checkNow(input.nowMs);
  if (!(REVOCATION_REASONS as readonly string[]).includes(input.reason)) {
    throw new PkiError('ERR_INPUT_INVALID', `reason ${JSON.stringify(input.reason)} is not a revocation reason`, { field: 'reason' });
  }
  const serialHex = normalizeSerialHex(input.serialHex);
  const notAfter =
    (await input.store.getCertificate(input.issuerId, serialHex))?.notAfter ??
    (await nodeTlsNotAfter(input.store, input.issuerId, serialHex)) ??
    (await withdrawnIssuerNotAfter(input.store, input.issuerId));
  if (notAfter === undefined) {
    throw new PkiError('ERR_NOT_FOUND', `no certificate ${serialHex} from issuer ${input.issuerId}`, { field: 'serialHex' });
  }
  if ((await input.store.getRevocation(input.issuerId, serialHex)) !== undefined) {
    throw new PkiError('ERR_ALREADY_REVOKED', `certificate ${serialHex} is already revoked`, { field: 'serialHex' });
  }
  return {
    type: 'Revoked',
    issuerId: input.issuerId,
    serialHex,
    reason: input.reason,
    // CRLs carry whole seconds; recording the same value keeps event and CRL in agreement.
    revokedAt: truncateToSeconds(new Date(input.nowMs)).getTime(),
    requestedBy: input.requestedBy,
    notAfter,
  };
}

/**
 * A leaf of a withdrawn node's ICA whose record is not held here: when an AZ was lost and
 * re-founded (node/admin/az-refound.ts), its leaves went with its local log (§4.1: `Issued` is
 * local) unless a restore brought them back, yet they stay valid and must stay revocable. The
 * issuer's own end bounds the leaf's (a child never outlives its issuer, docs/architecture.md
 * §4.2), so the revocation is kept at least as long as the certificate could be relied on. The
 * issuer signs nothing more, so no unknown serial of it can appear later.
 */
async function withdrawnIssuerNotAfter(store: PkiStateQueries, issuerId: string): Promise<number | undefined> {
  const ca = await store.getCa(issuerId);
  if (ca?.role !== 'node' || ca.nodeId === null) return undefined;
  return (await store.getNode(ca.nodeId)) === undefined ? ca.notAfter : undefined;
}

/**
 * A node's TLS certificate is recorded only in its `NodeRegistered` event (it is not a leaf of
 * the node's own CA), so it is found among the registered nodes: same serial, and signed by
 * `issuerId` (its AKI is the issuer's key identifier, which is the issuerId, ca-common.ts).
 */
async function nodeTlsNotAfter(store: PkiStateQueries, issuerId: string, serialHex: string): Promise<number | undefined> {
  for (const node of await store.nodes()) {
    const fields = readCertificateFields(node.tlsCertDer);
    if (fields.serialHex === serialHex && authorityKeyIdHex(fields) === issuerId) return fields.notAfter.getTime();
  }
  return undefined;
}

export interface NodeRevocationsInput {
  readonly nodeId: string;
  readonly reason: CrlReason;
  readonly nowMs: number;
  readonly requestedBy: string;
  readonly store: PkiStateQueries;
}

/**
 * The revocations that withdraw a node's identity: its node ICA certificate (so it signs nothing
 * more, and every leaf under it fails path validation) and its TLS certificate (so peers refuse
 * it). Certificates already revoked are left out; ERR_NODE_UNKNOWN for a node not registered.
 */
export async function nodeRevocations(input: NodeRevocationsInput): Promise<RevokedEvent[]> {
  const node = await input.store.getNode(input.nodeId);
  if (node === undefined) throw new PkiError('ERR_NODE_UNKNOWN', `node ${input.nodeId} is not registered`, { field: 'nodeId' });
  const ica = await input.store.getCa(node.icaIssuerId);
  if (ica === undefined || ica.parentIssuerId === null) throw new Error(`assertion failed: node ${input.nodeId} has no node CA record`);
  // Renewal (node-renewal.ts) leaves the node's earlier node ICAs valid until they end: all of them go.
  const earlier = (await input.store.cas()).filter((c) => c.role === 'node' && c.nodeId === input.nodeId && c.issuerId !== ica.issuerId && c.notAfter > input.nowMs);
  const targets = [
    { issuerId: ica.parentIssuerId, serialHex: ica.serialHex },
    nodeTlsCertificateId(node, ica),
    ...earlier.map((c) => ({ issuerId: c.parentIssuerId!, serialHex: c.serialHex })),
  ];
  const events: RevokedEvent[] = [];
  for (const t of targets) {
    if ((await input.store.getRevocation(t.issuerId, t.serialHex)) !== undefined) continue;
    events.push(await buildRevocation({ ...input, ...t }));
  }
  return events;
}

/**
 * Where the revocation of a node's TLS certificate is recorded: its serial under its issuer, the
 * AZ ICA (named by the certificate's AKI; else the issuer of the node's ICA, which signed both).
 */
export function nodeTlsCertificateId(node: NodeRecord, ica: CaRecord): { issuerId: string; serialHex: string } {
  const tls = readCertificateFields(node.tlsCertDer);
  const issuerId = authorityKeyIdHex(tls) ?? ica.parentIssuerId;
  if (issuerId === null) throw new Error(`assertion failed: node ${node.nodeId} has no issuer above its node CA`);
  return { issuerId, serialHex: tls.serialHex };
}

function authorityKeyIdHex(fields: CertificateFields): string | undefined {
  const keyId = authorityKeyIdOf(fields);
  return keyId === undefined ? undefined : toHex(keyId);
}

/** Bounds on how far ahead a CRL promises its successor (RFC 5280 §5.1.2.5 nextUpdate). */
const CRL_NEXT_UPDATE_SECONDS_MIN = 60;
const CRL_NEXT_UPDATE_SECONDS_MAX = 31 * 24 * 3600;

export interface BuildCrlEventInput {
  readonly issuer: CaHandle;
  readonly store: PkiStateQueries;
  readonly nowMs: number;
  readonly nextUpdateSeconds: number;
  /** RFC 5280 §5.2.6: where this complete CRL's delta CRLs are (node/revocation/crl-delta.ts). */
  readonly freshestCrlUrl?: string;
  /** A size budget (docs/architecture.md §4.5): a complete CRL over it is refused (checkCrlBudget). */
  readonly bytesMax?: number;
}

export interface BuiltCrlEvent {
  readonly event: CrlPublishedEvent;
  readonly crlDer: Uint8Array;
  readonly crlPem: string;
}

/** Signs the issuer's next CRL and returns the `CrlPublished` event that carries it. */
/** The checked number and window of the issuer's next CRL, complete or delta. */
async function nextCrlWindow(input: BuildCrlEventInput): Promise<{ crlNumber: number; thisUpdate: Date; nextUpdate: Date }> {
  checkNow(input.nowMs);
  const seconds = input.nextUpdateSeconds;
  if (!Number.isSafeInteger(seconds) || seconds < CRL_NEXT_UPDATE_SECONDS_MIN || seconds > CRL_NEXT_UPDATE_SECONDS_MAX) {
    throw new PkiError('ERR_INPUT_INVALID', `nextUpdateSeconds must be ${CRL_NEXT_UPDATE_SECONDS_MIN}..${CRL_NEXT_UPDATE_SECONDS_MAX}`, {
      field: 'nextUpdateSeconds',
    });
  }
  const { issuerId } = input.issuer;
  if ((await input.store.getCa(issuerId)) === undefined) {
    throw new PkiError('ERR_ISSUER_UNKNOWN', `issuer ${issuerId} is unknown`, { field: 'issuer' });
  }
  const thisUpdate = truncateToSeconds(new Date(input.nowMs));
  return { crlNumber: await input.store.nextCrlNumber(issuerId), thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + seconds * 1000) };
}

/** CRL entries (RFC 5280 §5.1.2.6) of revocation records, as every direct CRL of an issuer lists them. */
export function revokedEntries(records: readonly RevocationRecord[]): RevokedEntry[] {
  return records.map((r) => ({ serialHex: r.serialHex, revokedAt: new Date(r.revokedAt), reason: r.reason }));
}

/**
 * Signs a delta CRL (RFC 5280 §5.2.4) against the complete CRL numbered `baseCrlNumber`, listing
 * `revoked` (what the base misses), and returns the `DeltaCrlPublished` event that carries it.
 */
export async function buildDeltaCrlEvent(input: BuildCrlEventInput & { baseCrlNumber: number; revoked: readonly RevocationRecord[] }): Promise<DeltaCrlPublishedEvent> {
  const { crlNumber, thisUpdate, nextUpdate } = await nextCrlWindow(input);
  const revoked = revokedEntries(input.revoked);
  const crl = await buildCrl({ issuer: input.issuer.cert, signer: input.issuer.signer, crlNumber, thisUpdate, nextUpdate, revoked, deltaOf: input.baseCrlNumber });
  return {
    type: 'DeltaCrlPublished',
    issuerId: input.issuer.issuerId,
    crlNumber,
    baseCrlNumber: input.baseCrlNumber,
    crlDer: crl.der,
    thisUpdate: thisUpdate.getTime(),
    nextUpdate: nextUpdate.getTime(),
  };
}

export async function buildCrlEvent(input: BuildCrlEventInput): Promise<BuiltCrlEvent> {
  const { crlNumber, thisUpdate, nextUpdate } = await nextCrlWindow(input);
  const { issuerId } = input.issuer;
  const revoked = revokedEntries(await input.store.listRevoked(issuerId));
  const freshest = input.freshestCrlUrl === undefined ? {} : { freshestCrlUrl: input.freshestCrlUrl };
  const crl = await buildCrl({ issuer: input.issuer.cert, signer: input.issuer.signer, crlNumber, thisUpdate, nextUpdate, revoked, ...freshest });
  if (input.bytesMax !== undefined) checkCrlBudget(crl.der, input.bytesMax, `the complete CRL of issuer ${issuerId}`);
  const event: CrlPublishedEvent = {
    type: 'CrlPublished',
    issuerId,
    crlNumber,
    crlDer: crl.der,
    thisUpdate: thisUpdate.getTime(),
    nextUpdate: nextUpdate.getTime(),
  };
  return { event, crlDer: crl.der, crlPem: crl.pem };
}

/**
 * ERR_CRL_OVER_BUDGET when a signed CRL is larger than its budget: it is refused before it is
 * proposed, so no Raft entry carries it (docs/architecture.md §4.5).
 */
export function checkCrlBudget(crlDer: Uint8Array, bytesMax: number, what: string): void {
  if (crlDer.length <= bytesMax) return;
  throw new PkiError('ERR_CRL_OVER_BUDGET', `${what} would be ${crlDer.length} bytes, over its budget of ${bytesMax}; not published`);
}

/** Whether half of a CRL's validity has passed: its successor is due (RFC 5280 §5.1.2.5: publish before nextUpdate). */
export function pastHalfLife(crl: { readonly thisUpdate: number; readonly nextUpdate: number }, nowMs: number): boolean {
  return nowMs >= crl.thisUpdate + (crl.nextUpdate - crl.thisUpdate) / 2;
}

export interface CrlStalenessInput {
  /** The issuer's latest published CRL, if any. */
  readonly latest: { readonly crlDer: Uint8Array; readonly thisUpdate: number; readonly nextUpdate: number } | undefined;
  /** The issuer's revocations the state holds (expired entries already left). */
  readonly revoked: readonly { readonly serialHex: string }[];
  readonly nowMs: number;
}

/**
 * Whether the issuer needs a new CRL: none yet, a held revocation the latest CRL does not list,
 * or half its validity gone (RFC 5280 §5.1.2.5: publish before nextUpdate).
 *
 * The CRL is compared by content, not by log position. A CRL is signed from the state its builder
 * has applied and commits later, so a revocation that commits in between comes before it in the
 * log without being listed — e.g. a restarted node still catching up signs its CRL, or a
 * revocation lands while the CRL event is in flight. Judged by position, that CRL would look newer
 * than the revocation, and the revocation would stay off every CRL until the periodic refresh.
 */
export function crlNeedsRefresh(input: CrlStalenessInput): boolean {
  const { latest, revoked, nowMs } = input;
  if (latest === undefined) return true;
  if (pastHalfLife(latest, nowMs)) return true;
  if (revoked.length === 0) return false;
  const listed = crlListedSerials(latest.crlDer);
  return revoked.some((r) => !listed.has(normalizeSerialHex(r.serialHex)));
}
