// A concurrent history of operations as seen by clients: each operation has an invocation time
// and, if the client saw one, a response time and output. An operation whose outcome the client
// never learned (timeout, crash) is "pending": it may or may not have taken effect, at any point
// after its invocation (Herlihy & Wing 1990, §3: completions of a history).

export interface HistoryOp<I, O> {
  /** Unique inside one history. */
  id: number;
  clientId: number;
  input: I;
  /** Virtual time the client invoked the operation. */
  callTime: number;
  /** Virtual time the client received the response; `null` while pending (unknown outcome). */
  returnTime: number | null;
  /** The observed output; `undefined` exactly when `returnTime` is null. */
  output: O | undefined;
}

/**
 * A sequential specification. `step` answers whether `input` applied in `state` may yield
 * `output` (`undefined` = unknown output: any output is acceptable) and the resulting state.
 * States must be treated as immutable values; `key` renders a state for memoization.
 */
export interface Model<S, I, O> {
  init(): S;
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  key(state: S): string;
  /** P-compositionality (Herlihy & Wing §3.3): ops on independent objects check separately. */
  partition?(ops: readonly HistoryOp<I, O>[]): Map<string, HistoryOp<I, O>[]>;
  describe?: (op: HistoryOp<I, O>) => string;
}

export type LinearizabilityResult =
  | { result: 'ok'; partitions: number; steps: number }
  | {
      result: 'violation';
      partition: string;
      /** The longest prefix of operations the search managed to linearize, in order. */
      longestLinearized: number[];
      /** Operations of the failing partition, described, in invocation order. */
      ops: string[];
      steps: number;
    }
  | { result: 'unknown'; partition: string; steps: number; reason: string };
