// Issuance throughput on one core: P-256 CSR (DER) → parsed, signature checked → leaf certificate
// DER signed by a P-256 node ICA, through the engine's template path (issueCertificate with a
// prepared issuer). Compared against raw node:crypto.sign P-256 on the same run, which bounds
// what any issuance path could reach. Target: ≥ 2,000 leaves/s/core (TOOLCHAIN.md).
//
// Run alone: `node --conditions=source --import tsx bench/issuance.bench.ts` (or via `pnpm bench --only issuance`).
// Writes bench/results/issuance.json (or $BENCH_RESULTS_DIR/issuance.json).
import { generateKeyPairSync, randomBytes, sign as nodeSign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsr } from '../packages/pki-core/src/ca/csr.ts';
import { content, readTop } from '../packages/pki-core/src/ca/der-reader.ts';
import { explicit, ia5String, implicitPrimitive, integer, oid, octetString, sequence, setOf, Tag, utf8String, bitString } from '../packages/pki-core/src/ca/der.ts';
import { issueCertificate, createRootCertificate, type ExtensionChoices } from '../packages/pki-core/src/ca/issue.ts';
import { prepareIssuer } from '../packages/pki-core/src/ca/issuer.ts';
import { generateCaKeyPair } from '../packages/pki-core/src/ca/keys.ts';
import { randomSerial, type SerialRandomSource } from '../packages/pki-core/src/ca/serial.ts';
import { KeyObjectSigner } from '../packages/pki-core/src/ca/signer.ts';
import type { GeneralNameInput } from '../packages/pki-core/src/ca/general-names.ts';

const csrCount = 2_000;
const warmupLeaves = 2_000;
const measuredLeaves = 20_000;
const rawSignCount = 40_000;

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14'; // PKCS #9, RFC 2985 §5.4.2
const OID_SAN = '2.5.29.17';

const SERVER_LEAF: ExtensionChoices = {
  basicConstraints: { ca: false },
  keyUsage: ['digitalSignature'],
  extKeyUsage: ['serverAuth', 'clientAuth'],
  crlDistributionPoints: ['http://127.1.0.1/crl/node-1.crl'],
  authorityInfoAccess: { caIssuers: ['http://127.1.0.1/ca/node-1.crt'] },
};

/** OS randomness drawn in blocks: serials need 16 bytes each, and randomInt per 2 bytes is wasteful. */
class PooledRandom implements SerialRandomSource {
  #pool = randomBytes(0);
  #at = 0;
  nextInt(maxExclusive: number): number {
    if (maxExclusive !== 0x1_0000) throw new TypeError('PooledRandom serves 16-bit draws only');
    if (this.#at + 2 > this.#pool.length) {
      this.#pool = randomBytes(64 * 1024);
      this.#at = 0;
    }
    const v = this.#pool.readUInt16BE(this.#at);
    this.#at += 2;
    return v;
  }
}

function name(cn: string): Uint8Array {
  return sequence(setOf(sequence(oid('2.5.4.10'), utf8String('Adrestia'))), setOf(sequence(oid('2.5.4.3'), utf8String(cn))));
}

/** A PKCS #10 CSR (RFC 2986) with a SAN extensionRequest, signed ecdsa-with-SHA256. */
function makeCsr(i: number): Uint8Array {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const host = `leaf-${i}.az-1.adrestia.test`;
  const san = sequence(oid(OID_SAN), octetString(sequence(implicitPrimitive(2, ia5Bytes(host)))));
  const attrs = explicit(0, sequence(oid(OID_EXTENSION_REQUEST), setOf(sequence(san))));
  const info = sequence(integer(0), name(host), new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })), attrs);
  const sig = nodeSign('sha256', info, privateKey);
  return sequence(info, sequence(oid('1.2.840.10045.4.3.2')), bitString(sig));
}

function ia5Bytes(s: string): Uint8Array {
  return content(ia5String(s), readTop(ia5String(s), Tag.IA5_STRING));
}

/** CSR → subject, key and requested SANs, with its signature checked (ca/csr.ts, node:crypto.verify). */
function parseAndVerifyCsr(der: Uint8Array): { subjectDer: Uint8Array; spkiDer: Uint8Array; sans: readonly GeneralNameInput[] } {
  const csr = parseCsr(der);
  return { subjectDer: csr.subjectDer, spkiDer: csr.spkiDer, sans: csr.requestedSans };
}

function perSecond(count: number, startNs: bigint): number {
  return count / (Number(process.hrtime.bigint() - startNs) / 1e9);
}

async function main(): Promise<void> {
  const random = new PooledRandom();
  const notBefore = new Date('2026-01-01T00:00:00Z');
  const rootKey = await generateCaKeyPair('ecdsa-p256');
  const rootSigner = new KeyObjectSigner(rootKey.privateKey);
  const root = await createRootCertificate({ signer: rootSigner, subjectDer: name('Bench Root'), serial: randomSerial(random), notBefore, notAfter: new Date('2036-01-01T00:00:00Z'), pathLen: 1 });
  const icaKey = await generateCaKeyPair('ecdsa-p256');
  const icaSigner = new KeyObjectSigner(icaKey.privateKey);
  const ica = await issueCertificate({
    issuer: { certDer: root.der, signer: rootSigner },
    subjectDer: name('Bench Node ICA'),
    spkiDer: icaKey.spkiDer,
    serial: randomSerial(random),
    notBefore,
    notAfter: new Date('2030-01-01T00:00:00Z'),
    extensions: { basicConstraints: { ca: true, pathLen: 0 }, keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'] },
  });
  const issuer = prepareIssuer(ica.der, icaSigner);
  const csrs = Array.from({ length: csrCount }, (_, i) => makeCsr(i));
  if (parseAndVerifyCsr(csrs[0]!).sans.length !== 1) throw new Error('bench: the CSR SAN did not survive parsing');
  const notAfter = new Date('2026-04-01T00:00:00Z');

  const issueOne = async (i: number): Promise<number> => {
    const csr = parseAndVerifyCsr(csrs[i % csrCount]!);
    const leaf = await issueCertificate({ issuer, ...csr, serial: randomSerial(random), notBefore, notAfter, extensions: SERVER_LEAF });
    return leaf.der.length;
  };
  for (let i = 0; i < warmupLeaves; i++) await issueOne(i);
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < measuredLeaves; i++) bytes += await issueOne(i);
  const leavesPerSecond = perSecond(measuredLeaves, t0);

  // The same issuance from CSRs parsed beforehand: what the DER template path itself costs.
  const parsed = csrs.map(parseAndVerifyCsr);
  const t2 = process.hrtime.bigint();
  for (let i = 0; i < measuredLeaves; i++) {
    await issueCertificate({ issuer, ...parsed[i % csrCount]!, serial: randomSerial(random), notBefore, notAfter, extensions: SERVER_LEAF });
  }
  const buildAndSignPerSecond = perSecond(measuredLeaves, t2);

  const tbsLike = randomBytes(Math.round(bytes / measuredLeaves) - 80);
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < rawSignCount; i++) nodeSign('sha256', tbsLike, icaKey.privateKey);
  const rawSignsPerSecond = perSecond(rawSignCount, t1);

  const result = {
    benchmark: 'issuance',
    description: 'P-256 CSR DER → parseCsr (parse + signature check) → leaf DER signed by a P-256 node ICA, one core',
    leavesPerSecondPerCore: Math.round(leavesPerSecond),
    buildAndSignLeavesPerSecond: Math.round(buildAndSignPerSecond),
    rawP256SignsPerSecond: Math.round(rawSignsPerSecond),
    issuanceToRawSignRatio: Number((leavesPerSecond / rawSignsPerSecond).toFixed(3)),
    targetLeavesPerSecondPerCore: 2_000,
    meetsTarget: leavesPerSecond >= 2_000,
    measuredLeaves,
    meanLeafBytes: Math.round(bytes / measuredLeaves),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    date: new Date().toISOString(),
  };
  const dir = process.env['BENCH_RESULTS_DIR'] ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'issuance.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`issuance: ${result.leavesPerSecondPerCore} leaves/s/core (CSR verify + build + sign), ` +
    `build + sign only ${result.buildAndSignLeavesPerSecond}/s, raw P-256 sign ${result.rawP256SignsPerSecond}/s, ratio ${result.issuanceToRawSignRatio}, ` +
    `target ${result.targetLeavesPerSecondPerCore}: ${result.meetsTarget ? 'met' : 'NOT met'}`);
}

await main();
