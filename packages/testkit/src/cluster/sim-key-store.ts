// Node keys for simulated PkiNodes: made from the run's seeded randomness and kept on the node's
// simulated disk, so a PKI run replays bit for bit. Ed25519 (RFC 8032) is used because its keys
// derive from 32 seed bytes and its signatures are deterministic; every certificate and CSR of a
// run is then the same bytes on every replay. ECDSA signatures draw a fresh nonce from OpenSSL.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { PkiError, spkiDerOf, type CaKeyType, type GeneratedKeyPair, type NodeKey, type NodeKeyKind, type NodeKeys, type NodeKeyStore } from '@adrestia/pki-core';
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
  private readonly pending = new Map<NodeKeyKind, NodeKey>();

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

  pendingRenewalKey(kind: NodeKeyKind): Promise<NodeKey | null> {
    return Promise.resolve(this.pending.get(kind) ?? null);
  }

  async createRenewalKey(kind: NodeKeyKind, keyType: CaKeyType): Promise<NodeKey> {
    const pair = await this.generateCaKey(keyType);
    const key = { privateKey: pair.privateKey, spkiDer: pair.spkiDer };
    this.pending.set(kind, key);
    return key;
  }

  promoteRenewalKey(kind: NodeKeyKind): Promise<NodeKeys> {
    const key = this.pending.get(kind);
    if (this.kept === null || key === undefined) throw new Error(`assertion failed: no pending ${kind} renewal key to promote`);
    this.pending.delete(kind);
    const { ica, tls, previousIcas = [] } = this.kept;
    this.kept = kind === 'ica' ? { ica: key, tls, previousIcas: [...previousIcas, ica] } : { ica, tls: key, previousIcas };
    return Promise.resolve(this.kept);
  }
}
