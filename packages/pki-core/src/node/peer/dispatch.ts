// Serving a peer's request: a table from request kind to the feature that answers it (filled by
// the composition root, pki-node.ts; the compiler checks every kind has its entry), and one place
// that turns a failure into the `error` answer the asking node reads back as a typed error.
import { PkiError } from '../../errors.ts';
import { translate } from '../core/event-proposer.ts';
import type { PeerRequest, PeerResponse } from './protocol.ts';

interface PeerHandler<R extends PeerRequest> {
  /** The tier whose consensus failures the handler's errors are translated for (event-proposer.ts `translate`). */
  readonly tier: 'local' | 'global';
  handle(fromNodeId: string, request: R): Promise<PeerResponse>;
}

export type PeerHandlerTable = { readonly [K in PeerRequest['kind']]: PeerHandler<Extract<PeerRequest, { kind: K }>> };

export class PeerDispatch {
  constructor(
    private readonly table: PeerHandlerTable,
    /** Named in every error answer, so the asking node may retry with the local leader. */
    private readonly localLeaderId: () => string | null,
  ) {}

  async handle(fromNodeId: string, request: PeerRequest): Promise<PeerResponse> {
    const handler = Object.hasOwn(this.table, request.kind) ? (this.table[request.kind] as PeerHandler<PeerRequest>) : undefined;
    try {
      if (handler === undefined) throw new PkiError('ERR_INPUT_INVALID', `unknown peer request from ${fromNodeId}`);
      return await handler.handle(fromNodeId, request);
    } catch (e) {
      const err = translate(e, handler?.tier ?? 'local');
      const code = err instanceof PkiError ? err.code : 'ERR_INTERNAL';
      return { kind: 'error', code, message: err.message, leaderId: this.localLeaderId() };
    }
  }
}
