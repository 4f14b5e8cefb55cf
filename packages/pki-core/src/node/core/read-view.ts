// The node's reads of the replicated PKI state, in two kinds:
//   - `linearizable()`: Raft thesis §6.4 ReadIndex on the local group first — a follower applies
//     everything its local leader had committed — so whatever any node of the AZ acknowledged is
//     visible. Every answer to a caller that may have written before goes through it.
//   - `applied()`: the state as this node has applied it so far. For the node's own work (building
//     an event the state machine checks again on apply, scheduled tasks) and for reads whose caller
//     documents why a possibly stale answer is harmless (PkiNodeApi).
import { PkiError } from '../../errors.ts';
import type { PkiStateQueries } from '../../state/queries.ts';

export class ReadView {
  constructor(
    private readonly az: string,
    private readonly state: () => PkiStateQueries,
    private readonly readIndex: () => Promise<void>,
  ) {}

  /** The state as applied here (replaced wholesale only when the node starts: core/pki-application.ts). */
  applied(): PkiStateQueries {
    return this.state();
  }

  /** The state once every entry committed before this call is applied here (ERR_NO_LOCAL_QUORUM otherwise). */
  async linearizable(): Promise<PkiStateQueries> {
    try {
      await this.readIndex();
    } catch (e) {
      throw new PkiError('ERR_NO_LOCAL_QUORUM', `AZ ${this.az} cannot confirm a read now; retry`, { cause: e });
    }
    return this.state();
  }
}
