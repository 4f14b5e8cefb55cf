// This node's own CA, the node ICA: its record in the replicated state and a signer for it. The
// key never leaves the node (ca-node-keys.ts), so only this node can sign leaves and CRLs with it.
import type { KeyObject } from 'node:crypto';
import { KeyObjectSigner } from '../../ca/signer.ts';
import { PkiError } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord } from '../../state/records.ts';
import type { NodeContext } from '../core/context.ts';
import { issuerIdOf, type CaHandle } from './ca-common.ts';

export class OwnCa {
  /**
   * The signer of the current key, made once per key: building one exports the public key, and
   * issuance memoizes the issuer's parsed certificate per signer object (ca/issuer.ts
   * prepareIssuer), so a new signer per request would redo both.
   */
  private current: { privateKey: KeyObject; signer: KeyObjectSigner } | null = null;
  /** The issuer id of the key in use, computed once per key (renewal replaces the key, ca-node-keys.ts). */
  private keyId: { spkiDer: Uint8Array; issuerId: string } | null = null;

  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'ownKeys'>,
    private readonly state: () => PkiStateQueries,
  ) {}

  /**
   * The record of the node ICA this node signs with — the one certifying its node ICA key in use
   * (renewal, node-renewal.ts, may have installed a newer one whose key is still pending) —
   * as applied here; undefined before the registration is applied.
   */
  async record(): Promise<CaRecord | undefined> {
    const keys = this.ctx.ownKeys.get();
    if (keys === null) return undefined;
    if (this.keyId?.spkiDer !== keys.ica.spkiDer) this.keyId = { spkiDer: keys.ica.spkiDer, issuerId: issuerIdOf(keys.ica.spkiDer) };
    const ca = await this.state().getCa(this.keyId.issuerId);
    return ca?.role === 'node' && ca.nodeId === this.ctx.nodeId ? ca : undefined;
  }

  /** Signers for every node ICA of this node whose key it still holds, valid at `nowMs` and unrevoked (their CRLs, crl-refresh.ts). */
  async validSigners(nowMs: number): Promise<CaHandle[]> {
    const keys = this.ctx.ownKeys.get();
    if (keys === null) return [];
    const handles: CaHandle[] = [];
    for (const key of [keys.ica, ...(keys.previousIcas ?? [])]) {
      const ca = await this.state().getCa(issuerIdOf(key.spkiDer));
      if (ca === undefined || ca.nodeId !== this.ctx.nodeId || ca.revokedAt !== null || ca.notAfter <= nowMs) continue;
      handles.push({ cert: ca.certDer, signer: new KeyObjectSigner(key.privateKey), issuerId: ca.issuerId });
    }
    return handles;
  }

  /** A signer for the node ICA: ERR_NOT_FOUND before it exists here, ERR_NODE_REVOKED once withdrawn. */
  async signer(): Promise<CaHandle> {
    const keys = this.ctx.ownKeys.get();
    const ca = await this.record();
    if (!keys || !ca) throw new PkiError('ERR_NOT_FOUND', `node ${this.ctx.nodeId} has no node ICA yet`, { field: 'nodeIca' });
    // A withdrawn node signs nothing more (its ICA is revoked: leaves under it would not validate).
    if (ca.revokedAt !== null) throw new PkiError('ERR_NODE_REVOKED', `node ${this.ctx.nodeId} was withdrawn: its node ICA is revoked`);
    return { cert: ca.certDer, signer: this.signerOf(keys.ica.privateKey), issuerId: ca.issuerId };
  }

  private signerOf(privateKey: KeyObject): KeyObjectSigner {
    if (this.current?.privateKey !== privateKey) this.current = { privateKey, signer: new KeyObjectSigner(privateKey) };
    return this.current.signer;
  }
}
