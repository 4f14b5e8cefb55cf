// Wrapping of CA private keys (root, AZ ICA) for storage in the replicated state
// (docs/architecture.md §4.2): the PKCS#8 DER is encrypted with AES-256-GCM (NIST SP 800-38D) under
// a 32-byte key-encryption key (KEK) that the operator supplies. Only the node currently holding
// the role unwraps, in memory.
//
// Blob layout (all integers big-endian):
//   0      version            u8  = 1
//   1      bindingBytes       u16 = n
//   3      binding            n bytes: UTF-8 purpose, 0x00, UTF-8 keyId
//   3+n    nonce              12 bytes (random; SP 800-38D §8.2.2)
//   15+n   ciphertext         PKCS#8 DER encrypted
//   end-16 tag                16 bytes
// The AAD is a fixed label followed by bytes [0, 3+n): a blob cannot be replayed as another
// key's (purpose, keyId), and any change to the header, ciphertext or tag fails authentication.
import { createCipheriv, createDecipheriv, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { PkiError } from '../errors.ts';
import { privateKeyPkcs8Der } from './keys.ts';

const keyWrapVersion = 1;
const kekBytes = 32;
const nonceBytes = 12;
const tagBytes = 16;
const bindingPartMaxBytes = 255;
const aadLabel = new TextEncoder().encode('adrestia-pki/key-wrap\0');

/** What the wrapped key is for; unwrapping demands the same binding it was wrapped with. */
export interface KeyWrapBinding {
  /** e.g. 'root', 'azIntermediate' */
  readonly purpose: string;
  /** e.g. the AZ name or the certificate's SKI */
  readonly keyId: string;
}

function assertKek(kek: Uint8Array): void {
  if (!(kek instanceof Uint8Array) || kek.length !== kekBytes) {
    throw new TypeError(`key wrap: the KEK must be ${kekBytes} bytes`);
  }
}

function encodeBinding(binding: KeyWrapBinding): Uint8Array {
  const enc = new TextEncoder();
  const purpose = enc.encode(binding.purpose);
  const keyId = enc.encode(binding.keyId);
  for (const [name, part] of [['purpose', purpose], ['keyId', keyId]] as const) {
    if (part.length === 0 || part.length > bindingPartMaxBytes || part.includes(0)) {
      throw new TypeError(`key wrap: ${name} must be 1..${bindingPartMaxBytes} bytes without NUL`);
    }
  }
  const out = new Uint8Array(purpose.length + 1 + keyId.length);
  out.set(purpose, 0);
  out.set(keyId, purpose.length + 1);
  return out;
}

function aadFor(header: Uint8Array): Uint8Array {
  return Buffer.concat([aadLabel, header]);
}

/** Encrypts `privateKey` under `kek`, bound to `binding`. */
export function wrapPrivateKey(privateKey: KeyObject, kek: Uint8Array, binding: KeyWrapBinding): Uint8Array {
  assertKek(kek);
  const bindingDer = encodeBinding(binding);
  const header = new Uint8Array(3 + bindingDer.length);
  header[0] = keyWrapVersion;
  header[1] = bindingDer.length >>> 8;
  header[2] = bindingDer.length & 0xff;
  header.set(bindingDer, 3);
  const nonce = randomBytes(nonceBytes);
  const plaintext = privateKeyPkcs8Der(privateKey);
  try {
    const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: tagBytes });
    cipher.setAAD(aadFor(header));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, nonce, ciphertext, cipher.getAuthTag()]);
  } finally {
    plaintext.fill(0);
  }
}

function unwrapError(message: string, cause?: unknown): PkiError {
  return new PkiError('ERR_KEY_UNWRAP', message, { field: 'wrappedKey', cause });
}

/** The binding recorded in a wrapped blob (not authenticated until `unwrapPrivateKey` succeeds). */
export function readKeyWrapBinding(wrapped: Uint8Array): KeyWrapBinding {
  if (wrapped.length < 3 || wrapped[0] !== keyWrapVersion) throw unwrapError('wrapped key: unknown version');
  const n = (wrapped[1]! << 8) | wrapped[2]!;
  if (3 + n + nonceBytes + tagBytes + 1 > wrapped.length) throw unwrapError('wrapped key: truncated');
  const binding = wrapped.subarray(3, 3 + n);
  const sep = binding.indexOf(0);
  if (sep <= 0 || sep === binding.length - 1) throw unwrapError('wrapped key: malformed binding');
  const dec = new TextDecoder('utf-8', { fatal: true });
  try {
    return { purpose: dec.decode(binding.subarray(0, sep)), keyId: dec.decode(binding.subarray(sep + 1)) };
  } catch (cause) {
    throw unwrapError('wrapped key: malformed binding', cause);
  }
}

/**
 * Decrypts a wrapped key. A wrong KEK, a different binding, or any altered byte yields
 * ERR_KEY_UNWRAP; the decrypted PKCS#8 is zeroed once the KeyObject holds it.
 */
export function unwrapPrivateKey(wrapped: Uint8Array, kek: Uint8Array, expected: KeyWrapBinding): KeyObject {
  assertKek(kek);
  const found = readKeyWrapBinding(wrapped);
  if (found.purpose !== expected.purpose || found.keyId !== expected.keyId) {
    throw unwrapError(`wrapped key is bound to ${found.purpose}/${found.keyId}, not ${expected.purpose}/${expected.keyId}`);
  }
  const headerEnd = 3 + ((wrapped[1]! << 8) | wrapped[2]!);
  const nonce = wrapped.subarray(headerEnd, headerEnd + nonceBytes);
  const ciphertext = wrapped.subarray(headerEnd + nonceBytes, wrapped.length - tagBytes);
  const tag = wrapped.subarray(wrapped.length - tagBytes);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, nonce, { authTagLength: tagBytes });
    decipher.setAAD(aadFor(wrapped.subarray(0, headerEnd)));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw unwrapError('wrapped key: authentication failed (wrong KEK or altered blob)', cause);
  }
  try {
    return createPrivateKey({ key: plaintext, format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw unwrapError('wrapped key: plaintext is not a PKCS#8 private key', cause);
  } finally {
    plaintext.fill(0);
  }
}

/** Decodes an operator-supplied KEK: 64 hex digits or base64 of 32 bytes (surrounding whitespace ignored). */
export function decodeKek(text: string): Uint8Array {
  const s = text.trim();
  let bytes: Buffer;
  if (/^[0-9a-fA-F]{64}$/.test(s)) bytes = Buffer.from(s, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) bytes = Buffer.from(s, 'base64');
  else throw new PkiError('ERR_INPUT_INVALID', 'KEK must be 64 hex digits or base64 of 32 bytes', { field: 'kek' });
  if (bytes.length !== kekBytes) {
    throw new PkiError('ERR_INPUT_INVALID', `KEK must be ${kekBytes} bytes, got ${bytes.length}`, { field: 'kek' });
  }
  return new Uint8Array(bytes);
}
