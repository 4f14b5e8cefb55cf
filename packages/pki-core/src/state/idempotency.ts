// Idempotent issuance: a client that retries a request (timeout, leader change) must get the
// certificate already issued to it, not a second one with a second serial. A request is the same
// when requester, public key, SANs and profile are; `applyEvent` recomputes the key to check the
// proposer, and looks it up within the cluster's idempotency window.
import { createHash } from 'node:crypto';

/**
 * SANs compared as a set: trimmed, lowercased (DNS names compare case-insensitively, RFC 4343;
 * for other SAN types a case-only difference is treated as the same request), deduplicated and
 * sorted by code unit.
 */
function normalizeSans(sans: readonly string[]): string[] {
  const set = new Set(sans.map((s) => s.trim().toLowerCase()));
  return [...set].sort();
}

/** SHA-256 hex over an unambiguous (JSON) encoding of the request's identity. */
export function idempotencyKey(
  requester: string,
  publicKeyHash: string,
  sans: readonly string[],
  profile: string,
): string {
  const material = JSON.stringify(['adrestia-pki/idempotency/v1', requester, publicKeyHash.toLowerCase(), normalizeSans(sans), profile]);
  return createHash('sha256').update(material, 'utf8').digest('hex');
}
