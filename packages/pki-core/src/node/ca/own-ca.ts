// This node's own CA, the node ICA: its record in the replicated state and a signer for it. The
// key never leaves the node (ca-node-keys.ts), so only this node can sign leaves and CRLs with it.
import type { KeyObject } from 'node:crypto';
import { KeyObjectSigner } from '../../ca/signer.ts';
import { PkiError } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import type { CaRecord } from '../../state/records.ts';
import type { NodeContext } from '../core/context.ts';
import type { CaHandle } from './ca-common.ts';

export class OwnCa {
  /**
   * The signer of the current key, made once per key: building one exports the public key, and
   * issuance memoizes the issuer's parsed certificate per signer object (ca/issuer.ts
   * prepareIssuer), so a new signer per request would redo both.
   */
  private current: { privateKey: KeyObject; signer: KeyObjectSigner } | null = null;

  constructor(
    private readonly ctx: Pick<NodeContext, 'nodeId' | 'ownKeys'>,
    private readonly state: () => PkiStateQueries,
  ) {}

  /** The node ICA's record as applied here (undefined before the registration is applied). */
  async record(): Promise<CaRecord | undefined> {
    return (await this.state().cas()).find((c) => c.role === 'node' && c.nodeId === this.ctx.nodeId);
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
