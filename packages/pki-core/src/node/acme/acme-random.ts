// Random ids and tokens of ACME objects, drawn from the node's RandomSource (seeded in the
// simulator), as unpadded base64url (RFC 8555 §8.1: tokens from base64url's alphabet).
import type { RandomSource } from '@adrestia/consensus';

export function randomToken(random: RandomSource, bytes: number): string {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = random.nextInt(0x100);
  return Buffer.from(out).toString('base64url');
}
