// Node keys for simulated PkiNodes: made from the run's seeded randomness and kept on the node's
// simulated disk, so a PKI run replays bit for bit. Ed25519 (RFC 8032) is used because its keys
// derive from 32 seed bytes and its signatures are deterministic; every certificate and CSR of a
// run is then the same bytes on every replay. ECDSA signatures draw a fresh nonce from OpenSSL.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { PkiError, spkiDerOf, type CaKeyType, type GeneratedKeyPair, type NodeKeys, type NodeKeyStore } from '@adrestia/pki-core';
import type { SeededRandom } from '@adrestia/consensus';

/** PKCS#8 PrivateKeyInfo prefix for an Ed25519 key (RFC 8410 §7): the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** An Ed25519 key pair whose seed is drawn from `random`. */
export function seededEd25519KeyPair(random: SeededRandom): GeneratedKeyPair {
  const seed = Buffer.alloc(32);
  for (let i = 0; i < 32; i += 4) seed.writeUInt32BE(random.nextUint32(), i);
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  return { keyType: 'ed25519', privateKey, publicKey: createPublicKey(privateKey), spkiDer: spkiDerOf(privateKey) };
}

/** The simulator's NodeKeyStore: keys survive crashes (they are durable before any CSR leaves). */
export class SimKeyStore implements NodeKeyStore {
  private kept: NodeKeys | null = null;

  constructor(private readonly random: SeededRandom) {}

  readonly generateCaKey = (keyType: CaKeyType): Promise<GeneratedKeyPair> => {
    if (keyType !== 'ed25519') return Promise.reject(new TypeError(`SimKeyStore makes ed25519 keys only, asked for ${keyType}`));
    return Promise.resolve(seededEd25519KeyPair(this.random));
  };

  async createNodeKeys(keyType: CaKeyType): Promise<NodeKeys> {
    const ica = await this.generateCaKey(keyType);
    const tls = await this.generateCaKey(keyType);
    this.kept = { ica: { privateKey: ica.privateKey, spkiDer: ica.spkiDer }, tls: { privateKey: tls.privateKey, spkiDer: tls.spkiDer } };
    return this.kept;
  }

  loadNodeKeys(): Promise<NodeKeys> {
    if (this.kept === null) return Promise.reject(new PkiError('ERR_IO', 'no node keys were kept on this simulated disk', { field: 'keyFile' }));
    return Promise.resolve(this.kept);
  }
}
