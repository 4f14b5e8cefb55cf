// CA keys: generation per type, signers, key files (mode 0400/0600 only, atomic writes) and
// AES-256-GCM key wrapping under an operator KEK (tamper and wrong-KEK detection).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { signatureAlgorithmForKey } from '../src/ca/algorithms.ts';
import { bytesEqual } from '../src/ca/der.ts';
import { issueCertificate } from '../src/ca/issue.ts';
import { readPrivateKeyFile, writePrivateKeyFile } from '../src/ca/key-file.ts';
import { decodeKek, readKeyWrapBinding, unwrapPrivateKey, wrapPrivateKey } from '../src/ca/key-wrap.ts';
import { CA_KEY_TYPES, generateCaKeyPair, spkiDerOf, type CaKeyType } from '../src/ca/keys.ts';
import { randomSerial } from '../src/ca/serial.ts';
import { KeyObjectSigner, loadPemFileSigner, wrappedKeySigner } from '../src/ca/signer.ts';
import { isPkiError, type PkiErrorCode } from '../src/errors.ts';
import { at, buildHierarchy, CA_EXTENSIONS, days, epochSeconds, nameDer, openssl, T0, tempDir, writeFile } from './ca-fixtures.ts';

function expectPkiError(fn: () => unknown, code: PkiErrorCode): void {
  expect(fn).to.throw().that.satisfies((e: unknown) => isPkiError(e, code));
}

async function expectPkiRejection(p: Promise<unknown>, code: PkiErrorCode): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isPkiError(e, code), String(e)).to.equal(true);
}

const EXPECTED_ALGORITHM: Record<CaKeyType, string> = {
  'ecdsa-p256': 'ecdsa-with-SHA256',
  'ecdsa-p384': 'ecdsa-with-SHA384',
  'rsa-3072': 'sha256WithRSAEncryption',
  'rsa-4096': 'sha256WithRSAEncryption',
  ed25519: 'Ed25519',
};

describe('CA key generation and signers', function () {
  this.timeout(60_000);

  it('generates every CA key type with its signature algorithm and SPKI', async () => {
    for (const keyType of CA_KEY_TYPES) {
      const pair = await generateCaKeyPair(keyType);
      expect(signatureAlgorithmForKey(pair.privateKey), keyType).to.equal(EXPECTED_ALGORITHM[keyType]);
      expect(bytesEqual(pair.spkiDer, spkiDerOf(pair.privateKey))).to.equal(true);
      const details = pair.publicKey.asymmetricKeyDetails ?? {};
      if (keyType.startsWith('rsa-')) expect(details.modulusLength).to.equal(Number(keyType.slice(4)));
    }
  });

  it('refuses weak and unsupported keys (ERR_KEY_TOO_WEAK, ERR_KEY_UNSUPPORTED)', () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expectPkiError(() => new KeyObjectSigner(rsa1024), 'ERR_KEY_TOO_WEAK');
    const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey;
    expectPkiError(() => new KeyObjectSigner(p521), 'ERR_KEY_UNSUPPORTED');
  });
});

describe('Private key files (docs/spec.md §5.2.1: mode 0400, never looser)', function () {
  this.timeout(30_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('keyfile')));
  afterEach(() => cleanup());

  it('writes PKCS#8 PEM with mode 0400 atomically, leaving no temporary file, and OpenSSL reads it', async () => {
    const pair = await generateCaKeyPair('ecdsa-p256');
    const path = join(dir, 'node-ica.key');
    await writePrivateKeyFile(path, pair.privateKey);
    expect(statSync(path).mode & 0o777).to.equal(0o400);
    expect(readdirSync(dir)).to.deep.equal(['node-ica.key']);
    const signer = await loadPemFileSigner(path);
    expect(bytesEqual(signer.spkiDer, pair.spkiDer)).to.equal(true);
    const pub = openssl(['pkey', '-in', path, '-pubout', '-outform', 'DER']);
    expect(pub.status).to.equal(0);
    // Overwriting a 0400 key (rotation) replaces it through rename.
    const next = await generateCaKeyPair('ed25519');
    await writePrivateKeyFile(path, next.privateKey);
    expect(bytesEqual(spkiDerOf(await readPrivateKeyFile(path)), next.spkiDer)).to.equal(true);
    expect(statSync(path).mode & 0o777).to.equal(0o400);
  });

  it('accepts 0600 and refuses group- or world-accessible modes with ERR_KEY_FILE_PERMISSIONS', async () => {
    const pair = await generateCaKeyPair('ecdsa-p256');
    const path = join(dir, 'k.pem');
    writeFileSync(path, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    chmodSync(path, 0o600);
    await loadPemFileSigner(path);
    for (const mode of [0o644, 0o640, 0o604, 0o700, 0o440]) {
      chmodSync(path, mode);
      await expectPkiRejection(loadPemFileSigner(path), 'ERR_KEY_FILE_PERMISSIONS');
    }
  });

  it('reports a missing file as ERR_IO and garbage as ERR_KEY_MALFORMED', async () => {
    await expectPkiRejection(loadPemFileSigner(join(dir, 'absent.pem')), 'ERR_IO');
    const path = join(dir, 'bad.pem');
    writeFileSync(path, 'not a key', { mode: 0o400 });
    await expectPkiRejection(loadPemFileSigner(path), 'ERR_KEY_MALFORMED');
  });
});

describe('Key wrapping: AES-256-GCM under a 32-byte KEK, bound to purpose and key id', function () {
  this.timeout(30_000);
  const binding = { purpose: 'azIntermediate', keyId: 'az-1' };

  it('round-trips every CA key type; the unwrapped key signs an ICA OpenSSL accepts', async () => {
    const kek = randomBytes(32);
    for (const keyType of CA_KEY_TYPES.filter((k) => k !== 'rsa-4096')) {
      const pair = await generateCaKeyPair(keyType);
      const wrapped = wrapPrivateKey(pair.privateKey, kek, binding);
      expect(wrapped[0]).to.equal(1);
      expect(readKeyWrapBinding(wrapped)).to.deep.equal(binding);
      expect(pair.privateKey.equals(unwrapPrivateKey(wrapped, kek, binding)), keyType).to.equal(true);
    }
    const { dir, cleanup } = tempDir('wrap');
    try {
      const h = await buildHierarchy('ecdsa-p256', 11);
      const signer = wrappedKeySigner(wrapPrivateKey(h.az.key.privateKey, kek, binding), kek, binding);
      const icaKey = await generateCaKeyPair('ecdsa-p256');
      const ica = await issueCertificate({
        issuer: { certDer: h.az.cert.der, signer },
        subjectDer: nameDer([['commonName', 'Node ICA via wrapped key']]),
        spkiDer: icaKey.spkiDer,
        serial: randomSerial(h.random),
        notBefore: T0,
        notAfter: at(T0, days(100)),
        extensions: CA_EXTENSIONS(0),
      });
      const v = openssl(['verify', '-x509_strict', '-attime', epochSeconds(at(T0, days(1))), '-CAfile', writeFile(dir, 'root.pem', h.root.cert.pem), '-untrusted', writeFile(dir, 'az.pem', h.az.cert.pem), writeFile(dir, 'ica.pem', ica.pem)]);
      expect(v.stdout.trim(), v.stderr).to.match(/ica\.pem: OK$/);
    } finally {
      cleanup();
    }
  });

  it('a wrong KEK, another binding, truncation or any flipped byte fails with ERR_KEY_UNWRAP', async () => {
    const kek = randomBytes(32);
    const pair = await generateCaKeyPair('ecdsa-p256');
    const wrapped = wrapPrivateKey(pair.privateKey, kek, binding);
    const otherKek = Buffer.from(kek);
    otherKek[0]! ^= 1;
    expectPkiError(() => unwrapPrivateKey(wrapped, otherKek, binding), 'ERR_KEY_UNWRAP');
    expectPkiError(() => unwrapPrivateKey(wrapped, kek, { purpose: 'root', keyId: 'az-1' }), 'ERR_KEY_UNWRAP');
    expectPkiError(() => unwrapPrivateKey(wrapped, kek, { purpose: 'azIntermediate', keyId: 'az-2' }), 'ERR_KEY_UNWRAP');
    expectPkiError(() => unwrapPrivateKey(wrapped.subarray(0, wrapped.length - 1), kek, binding), 'ERR_KEY_UNWRAP');
    for (let i = 0; i < wrapped.length; i++) {
      const tampered = Uint8Array.from(wrapped);
      tampered[i]! ^= 0x40;
      expectPkiError(() => unwrapPrivateKey(tampered, kek, binding), 'ERR_KEY_UNWRAP');
    }
  });

  it('uses a fresh nonce per wrap, and refuses KEKs that are not 32 bytes', async () => {
    const kek = randomBytes(32);
    const pair = await generateCaKeyPair('ed25519');
    const a = wrapPrivateKey(pair.privateKey, kek, binding);
    const b = wrapPrivateKey(pair.privateKey, kek, binding);
    expect(bytesEqual(a, b)).to.equal(false);
    expect(() => wrapPrivateKey(pair.privateKey, randomBytes(31), binding)).to.throw(TypeError);
    expect(() => wrapPrivateKey(pair.privateKey, kek, { purpose: '', keyId: 'x' })).to.throw(TypeError);
  });

  it('decodes an operator KEK from 64 hex digits or base64 of 32 bytes', () => {
    const kek = randomBytes(32);
    expect(Buffer.from(decodeKek(kek.toString('hex'))).equals(kek)).to.equal(true);
    expect(Buffer.from(decodeKek(` ${kek.toString('base64')}\n`)).equals(kek)).to.equal(true);
    expectPkiError(() => decodeKek(randomBytes(16).toString('base64')), 'ERR_INPUT_INVALID');
    expectPkiError(() => decodeKek('not a key!'), 'ERR_INPUT_INVALID');
  });
});
