// The key-encryption keys a node holds (docs/architecture.md §19.2): the one the state's sealed
// keys are under, and, around a KEK rotation, the one they move to. A node is given both before
// the rotation (server config `kekFile` and `nextKekFile`), so that whichever the state is under
// when it signs, it opens the key; after the rotation it wraps new keys (a renewed AZ ICA, an OCSP
// responder key) under the KEK that last opened one, which is then the new one.
import type { KeyObject } from 'node:crypto';
import { unwrapPrivateKey, type KeyWrapBinding } from '../../ca/key-wrap.ts';
import { PkiError } from '../../errors.ts';

/** At most the current and the next KEK, and the one a rotation just left (key-wrap.ts: 32 bytes each). */
const KEKS_MAX = 3;

export class KekRing {
  readonly #keks: Uint8Array[];
  /** Index of the KEK that last opened a sealed key: new keys are wrapped under it. */
  #active = 0;

  constructor(kek: Uint8Array, next?: Uint8Array) {
    this.#keks = [Buffer.from(kek)];
    if (next !== undefined && !Buffer.from(next).equals(Buffer.from(kek))) this.#keks.push(Buffer.from(next));
  }

  /** The KEK new keys are wrapped under (and the ACME keys are derived from). Never log it. */
  wrapKek(): Uint8Array {
    return this.#keks[this.#active]!;
  }

  /** Every KEK held, the active one first: for what is sealed under a key derived from the KEK (ACME EAB keys, acme-eab.ts). */
  candidates(): Uint8Array[] {
    return [this.#keks[this.#active]!, ...this.#keks.filter((_, i) => i !== this.#active)];
  }

  /** Opens a sealed key with the KEK that opened the last one, else with each other KEK held; that one then wraps. */
  unwrap(wrapped: Uint8Array, binding: KeyWrapBinding): KeyObject {
    let first: unknown;
    for (const i of [this.#active, ...this.#keks.keys()].filter((v, n, all) => all.indexOf(v) === n)) {
      try {
        const key = unwrapPrivateKey(wrapped, this.#keks[i]!, binding);
        this.#active = i;
        return key;
      } catch (e) {
        if (!(e instanceof PkiError) || e.code !== 'ERR_KEY_UNWRAP') throw e;
        first ??= e;
      }
    }
    throw first;
  }

  /** After a rotation this node committed (kek-rotation.ts): `kek` is the one the state is under now. */
  adopt(kek: Uint8Array): void {
    const at = this.#keks.findIndex((k) => Buffer.from(k).equals(Buffer.from(kek)));
    if (at >= 0) {
      this.#active = at;
      return;
    }
    this.#keks.push(Buffer.from(kek));
    // The oldest goes: the state is under none of the older ones any more.
    if (this.#keks.length > KEKS_MAX) this.#keks.shift();
    this.#active = this.#keks.length - 1;
  }

  /** Keeps the keys out of logs and JSON dumps. */
  toJSON(): object {
    return { keks: this.#keks.length };
  }
}
