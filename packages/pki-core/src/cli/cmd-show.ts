// `adrestia-ca show FILE`: a readable summary of a certificate, CSR or CRL, PEM or DER.
import { createHash, createPublicKey } from 'node:crypto';
import { PkiError } from '../errors.ts';
import { decodeOid } from '../ca/asn1-values.ts';
import { basicConstraintsOf, keyUsageOf, readCertificateFields } from '../ca/cert-fields.ts';
import { decodeSubjectAltNames, parseCsr } from '../ca/csr.ts';
import { children, content, readTop, type Tlv } from '../ca/der-reader.ts';
import { Tag, toHex } from '../ca/der.ts';
import { renderName } from '../ca/names.ts';
import { OID_EXT, OID_KP } from '../ca/oids.ts';
import { pemBlocks } from '../ca/pem.ts';
import { serialHexFromContent } from '../ca/serial.ts';
import { decodeTime } from '../ca/time.ts';
import { parseFlags, usageError } from './args.ts';
import { readInput } from './cmd-sign.ts';
import type { CliContext } from './context.ts';

export async function cmdShow(args: readonly string[], ctx: CliContext): Promise<void> {
  const { positionals } = parseFlags(args, {}, true);
  if (positionals.length !== 1) throw usageError('show takes exactly one FILE', 'FILE');
  const bytes = await readInput(positionals[0]!, 'FILE');
  const { kind, der } = classify(bytes);
  const lines = kind === 'certificate' ? showCertificate(der) : kind === 'csr' ? showCsr(der) : showCrl(der);
  ctx.out(`${lines.map(([k, v]) => `${k.padEnd(20)}${v}`).join('\n')}\n`);
}

type Kind = 'certificate' | 'csr' | 'crl';

function classify(bytes: Uint8Array): { kind: Kind; der: Uint8Array } {
  if (bytes[0] !== Tag.SEQUENCE) {
    const block = pemBlocks(Buffer.from(bytes).toString('latin1'))[0];
    if (block === undefined) throw new PkiError('ERR_INPUT_INVALID', 'FILE is neither DER nor PEM', { field: 'FILE' });
    const kinds: Record<string, Kind> = { CERTIFICATE: 'certificate', 'CERTIFICATE REQUEST': 'csr', 'NEW CERTIFICATE REQUEST': 'csr', 'X509 CRL': 'crl' };
    const kind = kinds[block.label];
    if (kind === undefined) throw new PkiError('ERR_INPUT_INVALID', `PEM ${block.label} is not a certificate, CSR or CRL`, { field: 'FILE' });
    return { kind, der: block.der };
  }
  return { kind: derKind(bytes), der: bytes };
}

/** By shape: a CSR's info starts with INTEGER 0; a CRL's tbs has no serial and a Name third; a certificate's tbs starts [0]. */
function derKind(der: Uint8Array): Kind {
  try {
    const tbs = children(der, readTop(der, Tag.SEQUENCE))[0]!;
    const parts = children(der, tbs);
    if (parts[0]!.tag === 0xa0) return 'certificate';
    if (parts[0]!.tag === Tag.INTEGER && parts.length === 4 && parts[3]!.tag === 0xa0) return 'csr';
    return parts.length >= 4 && (parts[3]!.tag === Tag.UTC_TIME || parts[3]!.tag === Tag.GENERALIZED_TIME) ? 'crl' : 'certificate';
  } catch (cause) {
    throw new PkiError('ERR_INPUT_INVALID', 'FILE is not DER of a certificate, CSR or CRL', { field: 'FILE', cause });
  }
}

function describeKey(spkiDer: Uint8Array): string {
  const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') return `EC ${String(d.namedCurve)}`;
  if (key.asymmetricKeyType === 'rsa') return `RSA ${d.modulusLength} bits`;
  return String(key.asymmetricKeyType);
}

function sansText(value: Uint8Array): string {
  const { sans, unsupported } = decodeSubjectAltNames(value);
  return [...sans.map((s) => `${s.type}:${s.value}`), ...unsupported].join(', ');
}

function showCertificate(der: Uint8Array): Array<[string, string]> {
  const f = readCertificateFields(der);
  const bc = basicConstraintsOf(f);
  const lines: Array<[string, string]> = [
    ['type', 'certificate'],
    ['subject', renderName(f.subjectNameDer)],
    ['issuer', renderName(f.issuerNameDer)],
    ['serial', f.serialHex],
    ['notBefore', f.notBefore.toISOString()],
    ['notAfter', f.notAfter.toISOString()],
    ['key', describeKey(f.spkiDer)],
    ['basicConstraints', bc.ca ? `CA${bc.pathLen === undefined ? '' : `, pathLen ${bc.pathLen}`}` : 'end entity'],
  ];
  const ku = keyUsageOf(f);
  if (ku !== undefined) lines.push(['keyUsage', ku.join(', ')]);
  const eku = f.extensions.get(OID_EXT.extKeyUsage);
  if (eku !== undefined) {
    const names = Object.fromEntries(Object.entries(OID_KP).map(([k, v]) => [v, k]));
    const oids = children(eku.value, readTop(eku.value, Tag.SEQUENCE)).map((t) => decodeOid(content(eku.value, t)));
    lines.push(['extKeyUsage', oids.map((o) => names[o] ?? o).join(', ')]);
  }
  const san = f.extensions.get(OID_EXT.subjectAltName);
  if (san !== undefined) lines.push(['subjectAltName', sansText(san.value)]);
  lines.push(['sha256 fingerprint', createHash('sha256').update(der).digest('hex')]);
  return lines;
}

function showCsr(der: Uint8Array): Array<[string, string]> {
  const csr = parseCsr(der);
  return [
    ['type', 'certificate request (signature verified)'],
    ['subject', csr.subject],
    ['key', describeKey(csr.spkiDer)],
    ['signature', csr.signatureAlgorithm],
    ['requested SANs', [...csr.requestedSans.map((s) => `${s.type}:${s.value}`), ...csr.unsupportedSanTypes].join(', ')],
  ];
}

/** RFC 5280 §5.1: TBSCertList ::= SEQUENCE { version, signature, issuer, thisUpdate, nextUpdate, revoked?, [0] extensions }. */
function showCrl(der: Uint8Array): Array<[string, string]> {
  try {
    const tbs = children(der, readTop(der, Tag.SEQUENCE))[0]!;
    const parts = children(der, tbs);
    const time = (t: Tlv): string => decodeTime(t.tag, content(der, t)).toISOString();
    const [, , issuer, thisUpdate, ...rest] = parts;
    const nextUpdate = rest[0] !== undefined && rest[0].tag !== Tag.SEQUENCE && rest[0].tag !== 0xa0 ? rest.shift() : undefined;
    const revokedList = rest[0]?.tag === Tag.SEQUENCE ? children(der, rest.shift()!) : [];
    const lines: Array<[string, string]> = [
      ['type', 'CRL'],
      ['issuer', renderName(der.subarray(issuer!.start, issuer!.end))],
      ['thisUpdate', time(thisUpdate!)],
      ['nextUpdate', nextUpdate === undefined ? '(none)' : time(nextUpdate)],
    ];
    const crlNumber = crlNumberOf(der, rest[0]);
    if (crlNumber !== undefined) lines.push(['crlNumber', crlNumber]);
    lines.push(['revoked', String(revokedList.length)]);
    for (const entry of revokedList) {
      const [serial, date] = children(der, entry);
      lines.push(['  serial', `${serialHexFromContent(content(der, serial!))} at ${time(date!)}`]);
    }
    lines.push(['sha256 fingerprint', createHash('sha256').update(der).digest('hex')]);
    return lines;
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw new PkiError('ERR_CRL_MALFORMED', 'FILE is not a well-formed CRL', { field: 'FILE', cause });
  }
}

function crlNumberOf(der: Uint8Array, wrapper: Tlv | undefined): string | undefined {
  if (wrapper?.tag !== 0xa0) return undefined;
  for (const ext of children(der, children(der, wrapper)[0]!)) {
    const parts = children(der, ext);
    if (decodeOid(content(der, parts[0]!)) !== OID_EXT.crlNumber) continue;
    const value = content(der, parts[parts.length - 1]!);
    return BigInt(`0x${toHex(content(value, readTop(value, Tag.INTEGER))) || '0'}`).toString();
  }
  return undefined;
}
