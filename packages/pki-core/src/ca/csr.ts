// PKCS#10 certification requests (RFC 2986 §4): parse, check the subject key and the signature.
//   CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm, signature BIT STRING }
//   CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name,
//       subjectPKInfo SubjectPublicKeyInfo, attributes [0] IMPLICIT SET OF Attribute }
// The signature is checked with node:crypto.verify on a KeyObject built from the SPKI: fast, and
// independent of pkijs. The input is hostile: every failure is a PkiError, never another throw.
import { verify, type KeyObject } from 'node:crypto';
import { PkiError } from '../errors.ts';
import { formatIpAddress, ipAddressFromOctets } from '../net/ip.ts';
import { decodeOid } from './asn1-values.ts';
import { csrSignatureAlgorithm, importCsrKey, type CsrKeyType } from './csr-algorithms.ts';
import { children, content, DerError, readTop, whole, type Tlv } from './der-reader.ts';
import { Tag } from './der.ts';
import { readNameTlv, readTree, renderRdns, type NameRdns } from './names.ts';
import { OID_EXT } from './oids.ts';
import { pemBlocks } from './pem.ts';
import type { SanEntry } from './san.ts';


/** Largest CSR accepted (DER bytes): an RSA-8192 CSR with many SANs stays far below it. */
export const csrMaxBytes = 64 * 1024;

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14'; // PKCS#9 (RFC 2985 §5.4.2)

export interface ParsedCsr {
  readonly der: Uint8Array;
  readonly subjectDer: Uint8Array;
  /** The subject as an RFC 4514 string, most specific RDN first. */
  readonly subject: string;
  readonly subjectRdns: NameRdns;
  readonly spkiDer: Uint8Array;
  readonly publicKey: KeyObject;
  readonly keyType: CsrKeyType;
  readonly rsaBits?: number;
  readonly signatureAlgorithm: string;
  /** SANs of the extensionRequest attribute, as decoded (syntax is checked at issuance). */
  readonly requestedSans: readonly SanEntry[];
  /** GeneralName forms requested that we never issue (e.g. `otherName`), by name. */
  readonly unsupportedSanTypes: readonly string[];
}

/** Parses and verifies a CSR given as PEM text (string or bytes) or DER. */
export function parseCsr(input: Uint8Array | string): ParsedCsr {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw new TypeError('parseCsr: input must be a string or Uint8Array');
  try {
    return parseCsrDer(csrDer(input));
  } catch (e) {
    if (e instanceof PkiError) throw e;
    // Anything else (DerError, a decoder's RangeError) means the bytes are not a CSR we can read.
    throw new PkiError('ERR_CSR_MALFORMED', `CSR is malformed: ${e instanceof Error ? e.message : String(e)}`, { field: 'csr', cause: e });
  }
}

function csrDer(input: Uint8Array | string): Uint8Array {
  const size = typeof input === 'string' ? input.length : input.length;
  if (size > csrMaxBytes * 2) throw new PkiError('ERR_CSR_MALFORMED', `CSR input is over ${csrMaxBytes * 2} bytes`, { field: 'csr' });
  // DER starts with the SEQUENCE tag; anything else is read as PEM text (RFC 7468 §2 lets
  // explanatory text precede the block).
  if (typeof input !== 'string' && input[0] === Tag.SEQUENCE) return input;
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  let blocks;
  try {
    blocks = pemBlocks(text);
  } catch (cause) {
    throw new PkiError('ERR_CSR_MALFORMED', 'CSR PEM is not valid base64', { field: 'csr', cause });
  }
  // RFC 7468 §7; "NEW CERTIFICATE REQUEST" is what older tools (Netscape, MS) write.
  const block = blocks.find((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
  if (block === undefined) throw new PkiError('ERR_CSR_MALFORMED', 'no CERTIFICATE REQUEST PEM block found', { field: 'csr' });
  return block.der;
}

function parseCsrDer(der: Uint8Array): ParsedCsr {
  if (der.length > csrMaxBytes) throw new PkiError('ERR_CSR_MALFORMED', `CSR is over ${csrMaxBytes} bytes`, { field: 'csr' });
  const top = readTop(der, Tag.SEQUENCE);
  const [info, sigAlg, sig, extra] = children(der, top);
  if (info?.tag !== Tag.SEQUENCE || sigAlg?.tag !== Tag.SEQUENCE || sig?.tag !== Tag.BIT_STRING || extra !== undefined) {
    throw new DerError('CertificationRequest is not {info, algorithm, signature}');
  }
  const [version, subject, spki, attrs, more] = children(der, info);
  if (version?.tag !== Tag.INTEGER || subject === undefined || spki?.tag !== Tag.SEQUENCE || attrs?.tag !== 0xa0 || more !== undefined) {
    throw new DerError('CertificationRequestInfo is not {version, subject, subjectPKInfo, [0] attributes}');
  }
  const v = content(der, version);
  if (v.length !== 1 || v[0] !== 0) throw new DerError('CSR version is not v1(0)');
  const subjectRdns = readNameTlv(der, subject);
  const spkiDer = whole(der, spki).slice();
  const [spkiAlg, spkiBits, spkiExtra] = children(der, spki);
  if (spkiAlg?.tag !== Tag.SEQUENCE || spkiBits?.tag !== Tag.BIT_STRING || spkiExtra !== undefined) throw new DerError('bad SubjectPublicKeyInfo');
  const sans = readAttributes(der, attrs);
  const key = importCsrKey(spkiDer, whole(der, spkiAlg));
  const alg = csrSignatureAlgorithm(whole(der, sigAlg), key.keyType);
  checkSignature(der, info, sig, key.publicKey, alg.digest);
  return {
    der: der.slice(),
    subjectDer: whole(der, subject).slice(),
    subject: renderRdns(subjectRdns),
    subjectRdns,
    spkiDer,
    publicKey: key.publicKey,
    keyType: key.keyType,
    ...(key.rsaBits === undefined ? {} : { rsaBits: key.rsaBits }),
    signatureAlgorithm: alg.name,
    requestedSans: sans.requested,
    unsupportedSanTypes: sans.unsupported,
  };
}

function checkSignature(der: Uint8Array, info: Tlv, sig: Tlv, key: KeyObject, digest: string | null): void {
  const bits = content(der, sig);
  if (bits.length < 2 || bits[0] !== 0) throw new DerError('signature BIT STRING has unused bits');
  let ok: boolean;
  try {
    ok = verify(digest, whole(der, info), key, bits.subarray(1));
  } catch {
    ok = false; // e.g. an ECDSA signature that is not a DER Ecdsa-Sig-Value
  }
  if (!ok) throw new PkiError('ERR_CSR_SIGNATURE', 'the CSR signature does not verify with its public key', { field: 'csr.signature' });
}

interface RequestedSans {
  requested: SanEntry[];
  unsupported: string[];
}

/** Attributes: every one well-formed; the extensionRequest (at most one) yields the SANs. */
function readAttributes(der: Uint8Array, attrs: Tlv): RequestedSans {
  const out: RequestedSans = { requested: [], unsupported: [] };
  let seenExtensionRequest = false;
  for (const attr of children(der, attrs)) {
    const [type, values, extra] = attr.tag === Tag.SEQUENCE ? children(der, attr) : [];
    if (type?.tag !== Tag.OID || values?.tag !== Tag.SET || extra !== undefined) throw new DerError('Attribute is not {type, SET OF values}');
    readTree(der, values);
    if (decodeOid(content(der, type)) !== OID_EXTENSION_REQUEST) continue;
    const [extensions, second] = children(der, values);
    if (seenExtensionRequest || extensions?.tag !== Tag.SEQUENCE || second !== undefined) throw new DerError('bad extensionRequest attribute');
    seenExtensionRequest = true;
    readExtensionRequest(der, extensions, out);
  }
  return out;
}

function readExtensionRequest(der: Uint8Array, extensions: Tlv, out: RequestedSans): void {
  const seen = new Set<string>();
  for (const ext of children(der, extensions)) {
    const parts = ext.tag === Tag.SEQUENCE ? children(der, ext) : [];
    const id = parts[0];
    const value = parts[parts.length - 1];
    const criticalOk = parts.length === 2 || (parts.length === 3 && parts[1]!.tag === Tag.BOOLEAN);
    if (id?.tag !== Tag.OID || value?.tag !== Tag.OCTET_STRING || !criticalOk) throw new DerError('bad Extension in extensionRequest');
    const dotted = decodeOid(content(der, id));
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (seen.has(dotted)) throw new DerError(`extension ${dotted} requested twice`);
    seen.add(dotted);
    if (dotted === OID_EXT.subjectAltName) readGeneralNames(content(der, value), out);
  }
}

// RFC 5280 §4.2.1.6 GeneralName CHOICE tags, for naming the ones we do not issue.
const GENERAL_NAME_FORMS = ['otherName', 'rfc822Name', 'dNSName', 'x400Address', 'directoryName', 'ediPartyName', 'uniformResourceIdentifier', 'iPAddress', 'registeredID'];

/** The SANs of a subjectAltName extension value (GeneralNames DER), e.g. for showing a certificate. */
export function decodeSubjectAltNames(valueDer: Uint8Array): { sans: SanEntry[]; unsupported: string[] } {
  const out: RequestedSans = { requested: [], unsupported: [] };
  readGeneralNames(valueDer, out);
  return { sans: out.requested, unsupported: out.unsupported };
}

function readGeneralNames(valueDer: Uint8Array, out: RequestedSans): void {
  const names = readTop(valueDer, Tag.SEQUENCE);
  for (const gn of children(valueDer, names)) {
    const c = content(valueDer, gn);
    const latin1 = (): string => Buffer.from(c).toString('latin1');
    switch (gn.tag) {
      case 0x81:
        out.requested.push({ type: 'email', value: latin1() });
        break;
      case 0x82:
        out.requested.push({ type: 'dns', value: latin1() });
        break;
      case 0x86:
        out.requested.push({ type: 'uri', value: latin1() });
        break;
      case 0x87: {
        const ip = ipAddressFromOctets(c);
        if (ip === undefined) throw new DerError('iPAddress is neither 4 nor 16 octets');
        out.requested.push({ type: 'ip', value: formatIpAddress(ip) });
        break;
      }
      default:
        if ((gn.tag & 0x20) !== 0) readTree(valueDer, gn);
        out.unsupported.push(GENERAL_NAME_FORMS[gn.tag & 0x1f] ?? `[${gn.tag & 0x1f}]`);
    }
  }
}
