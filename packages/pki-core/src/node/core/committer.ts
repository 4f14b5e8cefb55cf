// How a feature gets an event committed: one attempt (`commit`), attempts repeated while leaders
// change (`commitRetrying`), or repeated and required to be accepted (`commitOk`). Consensus
// failures arrive already translated into PKI errors (event-proposer.ts `translate`).
import { PkiError, isPkiError } from '../../errors.ts';
import { decodeEvent } from '../../state/event-codec.ts';
import type { PkiEvent } from '../../state/events.ts';
import type { ApplyOutcome } from '../../state/outcome.ts';
import type { PeerRequest, PeerResponse } from '../peer/protocol.ts';
import type { NodeContext } from './context.ts';
import type { EventProposer } from './event-proposer.ts';

/** Failures that a leader change or a lost quorum explains: the same request may succeed later. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['ERR_NOT_LEADER', 'ERR_NO_LOCAL_QUORUM', 'ERR_NO_GLOBAL_QUORUM', 'ERR_TIMEOUT', 'ERR_NOT_READY']);

/** True for a PKI error worth retrying as is (TRANSIENT_CODES). */
export function isTransient(e: unknown): boolean {
  return isPkiError(e) && TRANSIENT_CODES.has(e.code);
}

/** Attempts of `retryTransient` before the last failure is thrown. */
const RETRY_ATTEMPTS_MAX = 20;
/** Ticks between two attempts. */
const RETRY_PAUSE_TICKS = 5;

export type Tier = 'local' | 'global';

export class Committer {
  constructor(
    private readonly proposer: EventProposer,
    private readonly ctx: Pick<NodeContext, 'isStopped' | 'sleepTicks'>,
  ) {}

  /** One attempt: the applied outcome (`{ ok: false }` is a rejection every replica agrees on). */
  commit(event: PkiEvent, tier?: Tier): Promise<ApplyOutcome> {
    return this.proposer.commit(event, tier);
  }

  /** `commit`, tried again while leaders change. */
  commitRetrying(event: PkiEvent, tier?: Tier): Promise<ApplyOutcome> {
    return this.retryTransient(() => this.proposer.commit(event, tier));
  }

  /** Commits an event this node built and requires it to be accepted. */
  async commitOk(event: PkiEvent, tier?: Tier): Promise<ApplyOutcome> {
    const outcome = await this.retryTransient(() => this.proposer.commit(event, tier));
    if (!outcome.ok) throw new PkiError(outcome.error.code, `${event.type} rejected: ${outcome.error.message}`);
    return outcome;
  }

  /** Retries while leaders change (bounded by the consensus request timeouts behind each try). */
  async retryTransient<T>(op: () => Promise<T>, attempts = RETRY_ATTEMPTS_MAX): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await op();
      } catch (e) {
        if (this.ctx.isStopped() || i >= attempts || !isTransient(e)) throw e;
        await this.ctx.sleepTicks(RETRY_PAUSE_TICKS);
      }
    }
  }

  /** On the local leader, a peer's `proposeLocal` / `proposeGlobal`: garbage is refused before it reaches the log. */
  async answerProposal(request: Extract<PeerRequest, { kind: 'proposeLocal' | 'proposeGlobal' }>): Promise<PeerResponse> {
    decodeEvent(request.event);
    const tier = request.kind === 'proposeLocal' ? 'local' : 'global';
    return { kind: 'outcome', outcome: await this.proposer.commitHere(request.event, tier) };
  }
}
