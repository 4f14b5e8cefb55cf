// X.509 v2 CRLs (RFC 5280 §5), built by DER concatenation like certificates:
//
//   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
//   TBSCertList ::= SEQUENCE { version v2, signature, issuer, thisUpdate, nextUpdate,
//                              revokedCertificates SEQUENCE OF ... OPTIONAL, crlExtensions [0] }
import { signatureAlgorithmInfo } from './algorithms.ts';
import { keyUsageOf } from './cert-fields.ts';
import { CRL_REASONS, type CrlReason } from './crl-reasons.ts';
import { bitString, bytesEqual, explicit, implicitPrimitive, integer, sequence, sequenceOf, Tag, toHex } from './der.ts';
import { distributionPointName, extension, freshestCrlExtension } from './extensions.ts';
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
  /** In an indirect CRL: the DER Name of the CA that issued the certificate (RFC 5280 §5.3.3). */
  readonly certificateIssuerNameDer?: Uint8Array;
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
  /**
   * RFC 5280 §5.2.5: an indirect CRL of end-entity certificates other CAs issued, published at
   * `distributionPointUrl` (the URL their CRL distribution point names with this CRL's issuer as
   * cRLIssuer). Every entry then names its certificate's issuer.
   */
  readonly indirect?: { readonly distributionPointUrl: string };
  /**
   * RFC 5280 §5.2.5: a partition of the issuer's CRL (node/revocation/crl-partitions.ts), published
   * at `distributionPointUrl`, the exact URL the CRL distribution point of each certificate it
   * covers names; it covers end-entity certificates only.
   */
  readonly partition?: { readonly distributionPointUrl: string };
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

/** `certificateIssuer`: whether this entry names its issuer (only where it differs from the entry before, §5.3.3). */
function revokedCertificate(entry: RevokedEntry, index: number, certificateIssuer: Uint8Array | undefined): Uint8Array {
  const reason = entry.reason ?? 'unspecified';
  const code = CRL_REASONS[reason];
  if (code === undefined) throw new TypeError(`revoked[${index}]: unknown reason ${String(reason)}`);
  const parts = [encodeSerial(entry.serialHex), encodeTime(truncateToSeconds(entry.revokedAt))];
  const extensions: Uint8Array[] = [];
  if (code !== CRL_REASONS.unspecified) {
    // RFC 5280 §5.3.1: reasonCode is a non-critical CRL entry extension, CRLReason ::= ENUMERATED.
    extensions.push(extension(OID_EXT.crlReason, false, integer(code, Tag.ENUMERATED)));
  }
  // RFC 5280 §5.3.3: certificateIssuer is critical; GeneralNames holding one directoryName ([4], explicit: Name is a CHOICE).
  if (certificateIssuer !== undefined) extensions.push(extension(OID_EXT.certificateIssuer, true, sequence(explicit(4, certificateIssuer))));
  if (extensions.length > 0) parts.push(sequence(...extensions));
  return sequence(...parts);
}

/** The entries, each indirect one naming its issuer where the run of one issuer starts (§5.3.3: later ones inherit it). */
function revokedCertificates(input: BuildCrlInput): Uint8Array[] {
  let previous: Uint8Array | undefined;
  return input.revoked.map((entry, i) => {
    if (input.indirect === undefined) return revokedCertificate(entry, i, undefined);
    const issuer = entry.certificateIssuerNameDer;
    if (issuer === undefined) throw new TypeError(`buildCrl: revoked[${i}] of an indirect CRL names no certificate issuer`);
    const named = previous !== undefined && bytesEqual(previous, issuer) ? undefined : issuer;
    previous = issuer;
    return revokedCertificate(entry, i, named);
  });
}

/**
 * RFC 5280 §5.2.5, critical: where this CRL is published, that it covers end-entity certificates
 * only (onlyContainsUserCerts [1]) and that it is indirect (indirectCRL [4]).
 */
function indirectDistributionPoint(url: string): Uint8Array {
  const TRUE = Uint8Array.of(0xff);
  return extension(OID_EXT.issuingDistributionPoint, true, sequence(distributionPointName(url, 'indirect.distributionPointUrl'), implicitPrimitive(1, TRUE), implicitPrimitive(4, TRUE)));
}

/**
 * RFC 5280 §5.2.5, critical: where this partition CRL is published and that it covers end-entity
 * certificates only (onlyContainsUserCerts [1]); a relying party matches the name against the
 * certificate's distribution point (§6.3.3 (b)(2)).
 */
function partitionDistributionPoint(url: string): Uint8Array {
  return extension(OID_EXT.issuingDistributionPoint, true, sequence(distributionPointName(url, 'partition.distributionPointUrl'), implicitPrimitive(1, Uint8Array.of(0xff))));
}

function issuingDistributionPoint(input: BuildCrlInput): Uint8Array[] {
  if (input.indirect !== undefined) return [indirectDistributionPoint(input.indirect.distributionPointUrl)];
  return input.partition === undefined ? [] : [partitionDistributionPoint(input.partition.distributionPointUrl)];
}

function checkInput(input: BuildCrlInput): bigint {
  const n = BigInt(input.crlNumber);
  if (n < 0n || n > crlNumberMax) throw new TypeError('buildCrl: crlNumber must be in [0, 2^159) (RFC 5280 §5.2.3)');
  if (truncateToSeconds(input.nextUpdate).getTime() <= truncateToSeconds(input.thisUpdate).getTime()) {
    throw new TypeError('buildCrl: nextUpdate must be later than thisUpdate');
  }
  if (input.indirect !== undefined && (input.deltaOf !== undefined || input.freshestCrlUrl !== undefined)) {
    throw new TypeError('buildCrl: an indirect CRL is complete and has no deltas here');
  }
  if (input.partition !== undefined && (input.indirect !== undefined || input.deltaOf !== undefined || input.freshestCrlUrl !== undefined)) {
    throw new TypeError('buildCrl: a partition CRL is direct and complete, with no deltas');
  }
  const seen = new Set<string>();
  input.revoked.forEach((e, i) => {
    // In an indirect CRL a serial is unique per certificate issuer (RFC 5280 §4.1.2.2).
    const s = normalizeSerialHex(e.serialHex);
    const key = e.certificateIssuerNameDer === undefined ? s : `${toHex(e.certificateIssuerNameDer)} ${s}`;
    if (seen.has(key)) throw new TypeError(`buildCrl: revoked[${i}] repeats serial ${s}`);
    seen.add(key);
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
  if (input.revoked.length > 0) parts.push(sequenceOf(revokedCertificates(input)));
  const crlNumberExt = extension(OID_EXT.crlNumber, false, integer(crlNumber));
  parts.push(explicit(0, sequence(issuer.akiExtension, crlNumberExt, ...deltaExtensions(input, crlNumber), ...issuingDistributionPoint(input))));
  const tbs = sequence(...parts);
  const signature = await signChecked(input.signer, tbs);
  const der = sequence(tbs, algorithmId, bitString(signature));
  return { der, pem: toPem(der, 'X509 CRL'), crlNumber };
}
