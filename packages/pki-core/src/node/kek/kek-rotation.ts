// Operator KEK rotation (docs/architecture.md §19.2): every key the state holds sealed — each root
// and AZ CA key (ca/key-wrap.ts), each AZ's OCSP responder key (ocsp/ocsp-provisioning.ts) — is
// opened with the old KEK and sealed again under the new one, with the same binding, and all of
// them are committed as one `CaKeyRewrapped` (state/apply-certs.ts applyCaKeyRewrapped accepts it
// only when it names every sealed key, each once): no replica ever holds keys under two KEKs. A
// key sealed meanwhile (an AZ ICA renewed, a responder key provisioned) makes the event name too
// few keys: it is refused whole and nothing changed; the operator runs the rotation again.
import { timingSafeEqual } from 'node:crypto';
import { wrapPrivateKey, unwrapPrivateKey, type KeyWrapBinding } from '../../ca/key-wrap.ts';
import { PkiError } from '../../errors.ts';
import type { RewrappedKey } from '../../state/events.ts';
import type { PkiStateQueries } from '../../state/queries.ts';
import { caKeyBinding } from '../ca/ca-common.ts';
import type { Committer } from '../core/committer.ts';
import type { NodeContext } from '../core/context.ts';
import type { RoleView } from '../core/roles.ts';
import { ocspKeyBinding } from '../ocsp/ocsp-provisioning.ts';

const KEK_BYTES = 32;

/** What a rotation re-sealed: each key by what it is, never its bytes. */
export interface RotatedKek {
  readonly keys: readonly ({ kind: 'ca'; role: 'root' | 'az'; issuerId: string } | { kind: 'ocspResponder'; az: string })[];
}

interface SealedKey {
  readonly id: RotatedKek['keys'][number];
  readonly wrappedKey: Uint8Array;
  readonly binding: KeyWrapBinding;
  readonly name: string;
}

/** Every key the state holds sealed under the KEK (node CA keys never leave their node). */
async function sealedKeysOf(store: PkiStateQueries): Promise<SealedKey[]> {
  const out: SealedKey[] = [];
  for (const ca of await store.cas()) {
    if (ca.role === 'node' || ca.wrappedKey === null) continue;
    out.push({ id: { kind: 'ca', role: ca.role, issuerId: ca.issuerId }, wrappedKey: ca.wrappedKey, binding: caKeyBinding(ca.role, ca.issuerId), name: `${ca.role} CA ${ca.issuerId}` });
  }
  for (const k of await store.ocspResponderKeys()) {
    out.push({ id: { kind: 'ocspResponder', az: k.az }, wrappedKey: k.wrappedKey, binding: ocspKeyBinding(k.az), name: `the OCSP responder key of ${k.az}` });
  }
  return out;
}

/** How many of the state's sealed keys `kek` opens (an operator's check before and after a rotation). */
export async function sealedKeysOpenedBy(store: PkiStateQueries, kek: Uint8Array): Promise<{ opened: number; of: number }> {
  const sealed = await sealedKeysOf(store);
  let opened = 0;
  for (const key of sealed) {
    try {
      unwrapPrivateKey(key.wrappedKey, kek, key.binding);
      opened++;
    } catch (e) {
      if (!(e instanceof PkiError) || e.code !== 'ERR_KEY_UNWRAP') throw e;
    }
  }
  return { opened, of: sealed.length };
}

function checkKek(kek: Uint8Array, field: 'oldKek' | 'newKek'): void {
  if (!(kek instanceof Uint8Array) || kek.length !== KEK_BYTES) throw new PkiError('ERR_INPUT_INVALID', `${field}: a KEK of ${KEK_BYTES} bytes`, { field });
}

/** The global leader's part of a KEK rotation. */
export class KekRotation {
  constructor(
    private readonly ctx: Pick<NodeContext, 'kek' | 'nowMs'>,
    private readonly roles: RoleView,
    private readonly state: () => PkiStateQueries,
    private readonly committer: Committer,
  ) {}

  /**
   * Re-seals every sealed key under `newKek` in one `CaKeyRewrapped`. ERR_KEK_MISMATCH, with
   * nothing proposed, when `oldKek` does not open every one of them.
   */
  async rotateKek(request: { oldKek: Uint8Array; newKek: Uint8Array }): Promise<RotatedKek> {
    if (!this.roles.isGlobalLeader()) throw new PkiError('ERR_NOT_LEADER', 'a KEK rotation runs on the global leader');
    checkKek(request.oldKek, 'oldKek');
    checkKek(request.newKek, 'newKek');
    if (timingSafeEqual(request.oldKek, request.newKek)) throw new PkiError('ERR_INPUT_INVALID', 'newKek: the new KEK must differ from the old one', { field: 'newKek' });
    const sealed = await sealedKeysOf(this.state());
    if (sealed.length === 0) throw new PkiError('ERR_NOT_FOUND', 'the state holds no sealed key yet');
    const keys: RewrappedKey[] = [];
    for (const key of sealed) {
      let plain;
      try {
        plain = unwrapPrivateKey(key.wrappedKey, request.oldKek, key.binding);
      } catch (e) {
        if (e instanceof PkiError && e.code === 'ERR_KEY_UNWRAP') throw new PkiError('ERR_KEK_MISMATCH', `oldKek: it does not open ${key.name}: the state is not under this KEK`, { field: 'oldKek' });
        throw e;
      }
      const wrappedKey = wrapPrivateKey(plain, request.newKek, key.binding);
      keys.push(key.id.kind === 'ca' ? { kind: 'ca', issuerId: key.id.issuerId, wrappedKey } : { kind: 'ocspResponder', az: key.id.az, wrappedKey });
    }
    await this.committer.commitOk({ type: 'CaKeyRewrapped', keys, at: this.ctx.nowMs() }, 'global');
    this.ctx.kek.adopt(request.newKek);
    return { keys: sealed.map((k) => k.id) };
  }
}
