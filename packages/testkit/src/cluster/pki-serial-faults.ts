// PKI faults aimed at the per-issuer serial rule (RFC 5280 §4.1.2.2: a serial is unique per
// issuer), which the state machine enforces (pki-core/src/state/apply-certs.ts requireFreshSerial):
//   - a simulation-only serial source with a tiny range (tiny-serial-random.ts), so two issuances
//     of one node ICA draw the same serial and the second must be rejected;
//   - a buggy proposer re-proposing a committed `Issued` with another certificate but the same
//     issuer and serial, which every replica must reject alike (nothing changes under that serial).
import { PkiError, type PkiNode } from '@adrestia/pki-core';
import { errorCode } from './sim-cluster.ts';
import type { PkiSimCluster } from './pki-cluster.ts';

/** A certificate the clients were given: what the duplicate is aimed at. */
export interface AckedLeaf {
  az: string;
  issuerId: string;
  serialHex: string;
  /** DER, hex. */
  der: string;
}

export interface DuplicateInjection {
  az: string;
  issuerId: string;
  serialHex: string;
  /** The acknowledged certificate under (issuer, serial), DER hex: every replica must keep it. */
  originalDer: string;
  /** The proposer's outcome: an error code, 'accepted', or null while pending. */
  outcome: string | null;
}

/** Error codes after which the injected event may or may not have committed (retried by nobody). */
const UNDECIDED = new Set(['ERR_NOT_LEADER', 'ERR_TIMEOUT', 'ERR_NO_LOCAL_QUORUM', 'ERR_NOT_READY', 'ERR_STOPPED', 'ERR_UNREACHABLE']);

/**
 * Proposes, through a live node of the AZ, an `Issued` with the fields (requester, key hash,
 * idempotency key, certificate) of a revoked acknowledged leaf `b` — so the idempotent-retry path
 * does not answer it (apply-certs.ts findRetried skips revoked certificates) — under the issuer and
 * serial of another acknowledged leaf `a` of the same node ICA. Returns the injection (its outcome
 * is filled in when the proposal settles, `settled` resolves then), or null when no pair exists.
 */
export async function injectDuplicateIssued(
  cluster: PkiSimCluster,
  acked: readonly AckedLeaf[],
  revoked: readonly { issuerId: string; serialHex: string }[],
  pick: (n: number) => number,
): Promise<{ injection: DuplicateInjection; settled: Promise<void> } | null> {
  const isRevoked = (c: AckedLeaf): boolean => revoked.some((v) => v.issuerId === c.issuerId && v.serialHex === c.serialHex);
  const pairs = acked.flatMap((b) => (isRevoked(b) ? acked.filter((a) => a.issuerId === b.issuerId && a.serialHex !== b.serialHex).map((a) => [a, b] as const) : []));
  if (pairs.length === 0) return null;
  const [a, b] = pairs[pick(pairs.length)]!;
  const via = cluster.nodesOf(a.az).filter((n) => n.alive && n.node);
  if (via.length === 0) return null;
  const node: PkiNode = via[pick(via.length)]!.node!;
  const rec = await node.app.store.getCertificate(b.issuerId, b.serialHex);
  if (rec?.kind !== 'leaf') return null;
  const injection: DuplicateInjection = { az: a.az, issuerId: a.issuerId, serialHex: a.serialHex, originalDer: a.der, outcome: null };
  const settled = node
    .commitOk(
      {
        type: 'Issued',
        issuerId: a.issuerId,
        serialHex: a.serialHex,
        certDer: rec.certDer,
        notAfter: rec.notAfter,
        subject: rec.subject,
        sans: rec.sans,
        profile: rec.profile,
        requester: rec.requester,
        publicKeyHash: rec.publicKeyHash,
        idempotencyKey: rec.idempotencyKey,
        at: cluster.nowMs(),
      },
      'local',
    )
    .then(
      () => void (injection.outcome = 'accepted'),
      (e: unknown) => void (injection.outcome = e instanceof PkiError ? e.code : errorCode(e)),
    );
  return { injection, settled };
}

/**
 * After recovery: each injected duplicate was refused with ERR_SERIAL_REUSED (or its outcome is
 * undecided), and every live replica of its AZ holds the acknowledged certificate under that issuer
 * and serial — the one record per (issuer, serial) the state keeps is the same everywhere.
 */
export async function duplicateSerialViolations(cluster: PkiSimCluster, injections: readonly DuplicateInjection[]): Promise<string[]> {
  const out: string[] = [];
  for (const inj of injections) {
    const key = `${inj.issuerId}/${inj.serialHex}`;
    if (inj.outcome === 'accepted') out.push(`a duplicate Issued under ${key} was accepted`);
    else if (inj.outcome !== null && inj.outcome !== 'ERR_SERIAL_REUSED' && !UNDECIDED.has(inj.outcome)) {
      out.push(`a duplicate Issued under ${key} was refused with ${inj.outcome}, not ERR_SERIAL_REUSED`);
    }
    for (const n of cluster.nodesOf(inj.az).filter((x) => x.alive && x.node)) {
      const rec = await n.node!.app.store.getCertificate(inj.issuerId, inj.serialHex);
      const der = rec === undefined ? 'nothing' : Buffer.from(rec.certDer).toString('hex');
      if (der !== inj.originalDer) out.push(`${n.id} holds another certificate under ${key} after a duplicate Issued`);
    }
  }
  return out;
}
