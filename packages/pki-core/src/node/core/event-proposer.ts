// How a node gets a PKI event committed: through its own TwoTierNode when it is the AZ's local
// leader, otherwise by asking the local leader it knows of (peer request). Outcomes are the
// state machine's: `{ ok: false }` is a deterministic rejection every replica agrees on.
import { TwoTierError, type TwoTierNode } from '@adrestia/consensus';
import { PKI_ERROR_CODES, PkiError, type PkiErrorCode } from '../../errors.ts';
import { encodeEvent } from '../../state/event-codec.ts';
import type { PkiEvent } from '../../state/events.ts';
import type { ApplyOutcome } from '../../state/outcome.ts';
import type { PkiApplyResult } from './pki-application.ts';
import { tierOfEvent } from './pki-application.ts';
import type { PeerClient, PeerRequest } from '../peer/protocol.ts';

export class EventProposer {
  constructor(
    private readonly nodeId: string,
    private readonly twoTier: () => TwoTierNode<PkiApplyResult>,
    private readonly peers: PeerClient,
  ) {}

  /** Commits `event` in its tier (pki-application.ts) and returns the applied outcome. */
  async commit(event: PkiEvent, tier: 'local' | 'global' = defaultTier(event)): Promise<ApplyOutcome> {
    return this.commitEncoded(encodeEvent(event), tier);
  }

  async commitEncoded(bytes: Uint8Array, tier: 'local' | 'global'): Promise<ApplyOutcome> {
    const node = this.twoTier();
    if (node.isLocalLeader()) return this.commitHere(bytes, tier);
    const leaderId = node.status().local.leaderId;
    if (leaderId === null || leaderId === this.nodeId) {
      throw new PkiError('ERR_NO_LOCAL_QUORUM', `AZ ${node.az} has no local leader now; retry`);
    }
    const request: PeerRequest = tier === 'local' ? { kind: 'proposeLocal', event: bytes } : { kind: 'proposeGlobal', event: bytes };
    const response = await this.peers.call(leaderId, request);
    if (response.kind === 'outcome' && response.outcome) return response.outcome;
    if (response.kind === 'error') throw new PkiError(asPkiCode(response.code), response.message);
    throw new PkiError('ERR_EVENT_REJECTED', `unexpected answer ${response.kind} from ${leaderId}`);
  }

  /** On the local leader (also serves peers' proposeLocal/proposeGlobal requests). */
  async commitHere(bytes: Uint8Array, tier: 'local' | 'global'): Promise<ApplyOutcome> {
    const node = this.twoTier();
    try {
      const outcome = tier === 'local' ? await node.proposeLocal(bytes) : await node.proposeGlobal(bytes);
      if (!outcome) throw new PkiError('ERR_EVENT_MALFORMED', 'the event carried no PKI command');
      return outcome;
    } catch (e) {
      throw translate(e, tier);
    }
  }
}

function defaultTier(event: PkiEvent): 'local' | 'global' {
  const t = tierOfEvent(event.type);
  if (t === 'either') throw new TypeError(`${event.type}: the tier must be given`);
  return t;
}

/** Consensus failures become the PKI layer's typed errors. */
export function translate(e: unknown, tier: 'local' | 'global'): Error {
  if (e instanceof PkiError) return e;
  if (e instanceof TwoTierError) {
    if (e.code === 'ERR_GLOBAL_TIMEOUT') {
      // The proposal may still commit (a global leader that took it and died before answering):
      // the outcome is unknown, not a refusal. A retried revocation that did commit answers ERR_ALREADY_REVOKED.
      return new PkiError('ERR_NO_GLOBAL_QUORUM', 'no global commit confirmed in time: the change may or may not have been committed; retry', { cause: e });
    }
    if (e.code === 'ERR_STOPPED') return new PkiError('ERR_STOPPED', 'node stopped', { cause: e });
    return new PkiError('ERR_NOT_LEADER', e.message, { cause: e });
  }
  const code = (e as { code?: unknown }).code;
  if (code === 'ERR_NOT_LEADER') return new PkiError('ERR_NOT_LEADER', String((e as Error).message), { cause: e });
  if (code === 'ERR_PROPOSAL_DROPPED') {
    return new PkiError(tier === 'global' ? 'ERR_NO_GLOBAL_QUORUM' : 'ERR_NO_LOCAL_QUORUM', `no ${tier} leader known now; retry`, { cause: e });
  }
  if (typeof code === 'string' && code.startsWith('ERR_PROPOSAL')) {
    return new PkiError(tier === 'global' ? 'ERR_NO_GLOBAL_QUORUM' : 'ERR_TIMEOUT', `${tier} commit not confirmed (${code}); retry`, { cause: e });
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** A code received from a peer, as a PkiErrorCode (unknown codes become ERR_EVENT_REJECTED). */
export function asPkiCode(code: string): PkiErrorCode {
  return (PKI_ERROR_CODES as readonly string[]).includes(code) ? (code as PkiErrorCode) : 'ERR_EVENT_REJECTED';
}
