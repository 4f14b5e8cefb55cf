// The audit chains of a PKI run (packages/pki-core/src/state/audit-chain.ts): every replica of a
// log computes the same chain, so at every position two replicas both hold, their hashes are
// equal — the global log's on every node, each AZ's local log on that AZ's nodes. Each node's
// history must also link (an entry's `prev` is the hash before it) and end at its head, and pass
// the operator's verifier (`adrestia-pki audit verify`, pki-core node/audit/audit-verify.ts): its
// signed checkpoints verify under the cluster's roots and attest the heads the bytes recompute to.
import { X509Certificate } from 'node:crypto';
import { verifyAuditHistory, type AuditVerdict } from '@adrestia/pki-core';
import type { PkiSimCluster, PkiSimNode } from './pki-cluster.ts';

type AuditLog = 'global' | 'local';

/** More than any run holds: a node's whole history is read at once. */
const HISTORY_ENTRIES_MAX = 1_000_000;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** Replicas of one log disagreeing on a hash, or a node's history not forming a chain. */
export async function auditChainDisagreements(cluster: PkiSimCluster): Promise<string[]> {
  const groups: { log: AuditLog; name: string; nodes: PkiSimNode[] }[] = [
    { log: 'global', name: 'global log', nodes: cluster.alive() },
    ...cluster.azs.map((az) => ({ log: 'local' as const, name: `local log of ${az.name}`, nodes: cluster.nodesOf(az.name).filter((n) => n.alive) })),
  ];
  const out: string[] = [];
  for (const group of groups) {
    const seen = new Map<number, { hash: string; node: string }>();
    for (const n of group.nodes) out.push(...(await compareNode(n, group.log, group.name, seen)));
  }
  return out;
}

/** The operator's verifier on node `n`'s history of `log`, with the roots its state holds. */
async function verifyNode(n: PkiSimNode, log: AuditLog, name: string): Promise<AuditVerdict> {
  const store = n.node!.app.store;
  const [head, entries, cas] = await Promise.all([store.auditHead(log), store.auditEntries(log, 1, HISTORY_ENTRIES_MAX), store.cas()]);
  const roots = cas.filter((ca) => ca.role === 'root').map((ca) => new X509Certificate(Buffer.from(ca.certDer)));
  return verifyAuditHistory({ log: name, tier: log, az: n.az, entries, head, roots });
}

/** Checkpoints that verified in the live nodes' histories, over both logs: a run's evidence it made some. */
export async function verifiedCheckpoints(cluster: PkiSimCluster): Promise<number> {
  let count = 0;
  for (const n of cluster.alive()) {
    for (const log of ['global', 'local'] as const) {
      const verdict = await verifyNode(n, log, log);
      if (verdict.ok) count += verdict.summary.checkpoints.length;
    }
  }
  return count;
}

async function compareNode(n: PkiSimNode, log: AuditLog, name: string, seen: Map<number, { hash: string; node: string }>): Promise<string[]> {
  const store = n.node!.app.store;
  const head = await store.auditHead(log);
  const entries = await store.auditEntries(log, 1, HISTORY_ENTRIES_MAX);
  const out: string[] = [];
  const verdict = await verifyNode(n, log, name);
  if (!verdict.ok) out.push(`${n.id}: ${name} fails verification at position ${verdict.divergence.position} (${verdict.divergence.eventType}): ${verdict.divergence.reason}`);
  const last = entries.at(-1);
  if (last !== undefined && (last.position !== head.position || hex(last.hash) !== hex(head.head))) {
    out.push(`${n.id}: ${name} history ends at ${last.position} but its head is at ${head.position}`);
  }
  for (let i = 1; i < entries.length; i++) {
    const [a, b] = [entries[i - 1]!, entries[i]!];
    if (b.position !== a.position + 1 || hex(b.prev) !== hex(a.hash)) out.push(`${n.id}: ${name} history breaks at position ${b.position}`);
  }
  const points = [...entries.map((e) => ({ position: e.position, hash: hex(e.hash) })), { position: head.position, hash: hex(head.head) }];
  for (const p of points) {
    if (p.position === 0) continue;
    const known = seen.get(p.position);
    if (known === undefined) seen.set(p.position, { hash: p.hash, node: n.id });
    else if (known.hash !== p.hash) out.push(`${name} position ${p.position}: ${known.node} holds ${known.hash.slice(0, 16)}, ${n.id} holds ${p.hash.slice(0, 16)}`);
  }
  return out;
}
