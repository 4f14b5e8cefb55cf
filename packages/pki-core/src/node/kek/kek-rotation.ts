// Operator KEK rotation (docs/architecture.md §19.2): every key the state holds sealed — each root
// and AZ CA key (ca/key-wrap.ts), each AZ's OCSP responder key (ocsp/ocsp-provisioning.ts), each
// ACME external account binding key (acme/acme-eab.ts, sealed under a key derived from the KEK) —
// is opened with the old KEK and sealed again under the new one, with the same binding, and all of
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
import { AcmeEabSealer } from '../acme/acme-eab.ts';
import { ACME_EAB_PREFIX } from '../../state/acme-records.ts';

const KEK_BYTES = 32;

/** What a rotation re-sealed: each key by what it is, never its bytes. */
export interface RotatedKek {
  readonly keys: readonly ({ kind: 'ca'; role: 'root' | 'az'; issuerId: string } | { kind: 'ocspResponder'; az: string } | { kind: 'acmeEab'; keyId: string })[];
}

/** A sealed key of the state: opened with a KEK (null when that KEK does not open it) and sealed again under another. */
interface SealedKey {
  readonly id: RotatedKek['keys'][number];
  readonly name: string;
  open(kek: Uint8Array): { reseal(newKek: Uint8Array): RewrappedKey } | null;
}

/** The private key opened with `kek`, or null when `kek` is not the one it is wrapped under. */
function unwrapOrNull(wrappedKey: Uint8Array, kek: Uint8Array, binding: KeyWrapBinding) {
  try {
    return unwrapPrivateKey(wrappedKey, kek, binding);
  } catch (e) {
    if (e instanceof PkiError && e.code === 'ERR_KEY_UNWRAP') return null;
    throw e;
  }
}

function wrappedKey(id: RotatedKek['keys'][number], name: string, wrapped: Uint8Array, binding: KeyWrapBinding, rewrapped: (w: Uint8Array) => RewrappedKey): SealedKey {
  return {
    id,
    name,
    open: (kek) => {
      const plain = unwrapOrNull(wrapped, kek, binding);
      return plain === null ? null : { reseal: (newKek) => rewrapped(wrapPrivateKey(plain, newKek, binding)) };
    },
  };
}

/** Every EAB key record of the state, a page at a time. */
async function eabKeysOf(store: PkiStateQueries): Promise<{ keyId: string; keySealed: Uint8Array }[]> {
  const out: { keyId: string; keySealed: Uint8Array }[] = [];
  let gte: string | undefined;
  for (;;) {
    const page = await store.rangeAcme(ACME_EAB_PREFIX, { ...(gte === undefined ? {} : { gte }), limit: 1000 });
    for (const [, r] of page) if (r.kind === 'eab') out.push({ keyId: r.keyId, keySealed: r.keySealed });
    if (page.length < 1000) return out;
    gte = `${page[page.length - 1]![0]}\x00`;
  }
}

/** Every key the state holds sealed under the KEK (node CA keys never leave their node). */
async function sealedKeysOf(store: PkiStateQueries): Promise<SealedKey[]> {
  const out: SealedKey[] = [];
  for (const ca of await store.cas()) {
    if (ca.role === 'node' || ca.wrappedKey === null) continue;
    const { issuerId } = ca;
    out.push(wrappedKey({ kind: 'ca', role: ca.role, issuerId }, `${ca.role} CA ${issuerId}`, ca.wrappedKey, caKeyBinding(ca.role, issuerId), (w) => ({ kind: 'ca', issuerId, wrappedKey: w })));
  }
  for (const k of await store.ocspResponderKeys()) {
    const { az } = k;
    out.push(wrappedKey({ kind: 'ocspResponder', az }, `the OCSP responder key of ${az}`, k.wrappedKey, ocspKeyBinding(az), (w) => ({ kind: 'ocspResponder', az, wrappedKey: w })));
  }
  for (const { keyId, keySealed } of await eabKeysOf(store)) {
    out.push({
      id: { kind: 'acmeEab', keyId },
      name: `the ACME EAB key ${keyId}`,
      open: (kek) => {
        let hmacKey: Uint8Array;
        try {
          hmacKey = new AcmeEabSealer(kek).open(keySealed);
        } catch {
          return null; // AES-GCM refuses the tag: sealed under another KEK
        }
        return { reseal: (newKek) => ({ kind: 'acmeEab', keyId, keySealed: new AcmeEabSealer(newKek).seal(hmacKey) }) };
      },
    });
  }
  return out;
}

/** How many of the state's sealed keys `kek` opens (an operator's check before and after a rotation). */
export async function sealedKeysOpenedBy(store: PkiStateQueries, kek: Uint8Array): Promise<{ opened: number; of: number }> {
  const sealed = await sealedKeysOf(store);
  return { opened: sealed.filter((key) => key.open(kek) !== null).length, of: sealed.length };
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
      const opened = key.open(request.oldKek);
      if (opened === null) throw new PkiError('ERR_KEK_MISMATCH', `oldKek: it does not open ${key.name}: the state is not under this KEK`, { field: 'oldKek' });
      keys.push(opened.reseal(request.newKek));
    }
    await this.committer.commitOk({ type: 'CaKeyRewrapped', keys, at: this.ctx.nowMs() }, 'global');
    this.ctx.kek.adopt(request.newKek);
    return { keys: sealed.map((k) => k.id) };
  }
}
