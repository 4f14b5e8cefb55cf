// X.509 v2 CRLs (RFC 5280 §5), built by DER concatenation like certificates:
//
//   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
//   TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate,
//                              revokedCertificates SEQUENCE OF ... OPTIONAL, crlExtensions [0] }
import { signatureAlgorithmInfo } from './algorithms.ts';
import { keyUsageOf } from './cert-fields.ts';
import { CRL_REASONS, type CrlReason } from './crl-reasons.ts';
import { bitString, explicit, integer, sequence, sequenceOf, Tag } from './der.ts';
import { extension, freshestCrlExtension } from './extensions.ts';
import { prepareIssuer, signChecked, type PreparedIssuer } from './issuer.ts';
import { OID_EXT } from './oids.ts';
import { toPem } from './pem.ts';
import { encodeSerial, normalizeSerialHex } from './serial.ts';
import type { Signer } from './signer.ts';
import { encodeTime, truncateToSeconds } from './time.ts';

export interface RevokedEntry {
  readonly serialHex: string;
  readonly revokedAt: Date;
  /** Omitted or 'unspecified': no reasonCode extension (RFC 5280 §5.3.1 SHOULD be absent). */
  readonly reason?: CrlReason;
}

export interface BuildCrlInput {
  /** The CRL issuer's certificate DER, or an issuer already prepared with the same signer. */
  readonly issuer: Uint8Array | PreparedIssuer;
  readonly signer: Signer;
  /** RFC 5280 §5.2.3: monotonically increasing per issuer; the caller keeps the sequence. */
  readonly crlNumber: bigint | number;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly revoked: readonly RevokedEntry[];
  /**
   * RFC 5280 §5.2.4: a delta CRL against the complete CRL with this number (critical
   * deltaCRLIndicator); it lists what changed since that CRL, and shares its number sequence.
   */
  readonly deltaOf?: bigint | number;
  /** RFC 5280 §5.2.6: where this complete CRL's delta CRLs are fetched (Freshest CRL); not in a delta. */
  readonly freshestCrlUrl?: string;
}

export interface BuiltCrl {
  readonly der: Uint8Array;
  readonly pem: string;
  readonly crlNumber: bigint;
}

/** `INTEGER 1`: v2, required because the CRL carries extensions (§5.1.2.1). */
const VERSION_V2 = Uint8Array.of(0x02, 0x01, 0x01);
/** RFC 5280 §5.2.3: CRL numbers are at most 20 octets. */
const crlNumberMax = (1n << 159n) - 1n;

function revokedCertificate(entry: RevokedEntry, index: number): Uint8Array {
  const reason = entry.reason ?? 'unspecified';
  const code = CRL_REASONS[reason];
  if (code === undefined) throw new TypeError(`revoked[${index}]: unknown reason ${String(reason)}`);
  const parts = [encodeSerial(entry.serialHex), encodeTime(truncateToSeconds(entry.revokedAt))];
  if (code !== CRL_REASONS.unspecified) {
    // RFC 5280 §5.3.1: reasonCode is a non-critical CRL entry extension, CRLReason ::= ENUMERATED.
    parts.push(sequence(extension(OID_EXT.crlReason, false, integer(code, Tag.ENUMERATED))));
  }
  return sequence(...parts);
}

function checkInput(input: BuildCrlInput): bigint {
  const n = BigInt(input.crlNumber);
  if (n < 0n || n > crlNumberMax) throw new TypeError('buildCrl: crlNumber must be in [0, 2^159) (RFC 5280 §5.2.3)');
  if (truncateToSeconds(input.nextUpdate).getTime() <= truncateToSeconds(input.thisUpdate).getTime()) {
    throw new TypeError('buildCrl: nextUpdate must be later than thisUpdate');
  }
  const seen = new Set<string>();
  input.revoked.forEach((e, i) => {
    const s = normalizeSerialHex(e.serialHex);
    if (seen.has(s)) throw new TypeError(`buildCrl: revoked[${i}] repeats serial ${s}`);
    seen.add(s);
  });
  return n;
}

/** deltaCRLIndicator for a delta CRL (§5.2.4), Freshest CRL for a complete one that has deltas (§5.2.6). */
function deltaExtensions(input: BuildCrlInput, crlNumber: bigint): Uint8Array[] {
  if (input.deltaOf !== undefined) {
    const base = BigInt(input.deltaOf);
    if (input.freshestCrlUrl !== undefined) throw new TypeError('buildCrl: a delta CRL carries no Freshest CRL (RFC 5280 §5.2.6)');
    if (base < 0n || base >= crlNumber) throw new TypeError('buildCrl: a delta CRL\'s base must have a lower CRL number (RFC 5280 §5.2.4)');
    return [extension(OID_EXT.deltaCrlIndicator, true, integer(base))];
  }
  return input.freshestCrlUrl === undefined ? [] : [freshestCrlExtension([input.freshestCrlUrl])];
}

/** Builds and signs a v2 CRL with CRL number and AKI (RFC 5280 §5.2.1, §5.2.3), complete or delta (§5.2.4). */
export async function buildCrl(input: BuildCrlInput): Promise<BuiltCrl> {
  const crlNumber = checkInput(input);
  const issuer = input.issuer instanceof Uint8Array ? prepareIssuer(input.issuer, input.signer) : input.issuer;
  if (issuer.signer !== input.signer) throw new TypeError('buildCrl: the prepared issuer was prepared with another signer');
  const usages = keyUsageOf(issuer.fields);
  // RFC 5280 §4.2.1.3: a key that signs CRLs must assert cRLSign when keyUsage is present.
  if (usages !== undefined && !usages.includes('cRLSign')) {
    throw new TypeError('buildCrl: the issuer certificate does not assert cRLSign');
  }
  const algorithmId = signatureAlgorithmInfo(input.signer.algorithm).algorithmIdentifierDer;
  const parts = [
    VERSION_V2,
    algorithmId,
    issuer.nameDer,
    encodeTime(truncateToSeconds(input.thisUpdate)),
    encodeTime(truncateToSeconds(input.nextUpdate)),
  ];
  // RFC 5280 §5.1.2.6: with no revoked certificates the list MUST be absent, not empty.
  if (input.revoked.length > 0) parts.push(sequenceOf(input.revoked.map(revokedCertificate)));
  const crlNumberExt = extension(OID_EXT.crlNumber, false, integer(crlNumber));
  parts.push(explicit(0, sequence(issuer.akiExtension, crlNumberExt, ...deltaExtensions(input, crlNumber))));
  const tbs = sequence(...parts);
  const signature = await signChecked(input.signer, tbs);
  const der = sequence(tbs, algorithmId, bitString(signature));
  return { der, pem: toPem(der, 'X509 CRL'), crlNumber };
}
