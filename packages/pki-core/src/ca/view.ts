// A read-only, parsed view of a certificate for inspection (CLI output, status pages, tests),
// kept apart from the builder as @peculiar/x509 does. Parsing goes through pkijs; it is not on
// the issuance hot path.
import * as pkijs from 'pkijs';
import { PkiError } from '../errors.ts';
import { formatIpAddress, ipAddressFromOctets } from '../net/ip.ts';
import { toHex } from './der.ts';
import type { KeyUsage } from './extensions.ts';
import { KEY_USAGES } from './extensions.ts';
import type { GeneralNameInput } from './general-names.ts';
import { renderName } from './names.ts';
import { OID_EXT, OID_KP } from './oids.ts';
import { serialHexFromContent } from './serial.ts';

const purposeByOid = new Map<string, string>(Object.entries(OID_KP).map(([name, dotted]) => [dotted, name]));

export interface BasicConstraintsView {
  readonly ca: boolean;
  readonly pathLen?: number;
}

export class CertificateView {
  readonly der: Uint8Array;
  /** RFC 4514 string, most specific RDN first (e.g. `CN=node-1,O=Adrestia`). */
  readonly subject: string;
  readonly subjectDer: Uint8Array;
  readonly issuer: string;
  readonly issuerDer: Uint8Array;
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spkiDer: Uint8Array;
  readonly signatureAlgorithmOid: string;
  readonly subjectKeyIdHex: string | undefined;
  readonly authorityKeyIdHex: string | undefined;
  readonly sans: readonly GeneralNameInput[];
  readonly basicConstraints: BasicConstraintsView | undefined;
  readonly keyUsage: readonly KeyUsage[] | undefined;
  /** Purpose names (`serverAuth`, …) or dotted OIDs for purposes we do not name. */
  readonly extKeyUsage: readonly string[] | undefined;

  constructor(der: Uint8Array) {
    let cert: pkijs.Certificate;
    try {
      cert = pkijs.Certificate.fromBER(der);
    } catch (cause) {
      throw new PkiError('ERR_CERT_MALFORMED', 'certificate is malformed', { field: 'certificate', cause });
    }
    this.der = der;
    this.subjectDer = new Uint8Array(cert.subject.toSchema().toBER());
    this.issuerDer = new Uint8Array(cert.issuer.toSchema().toBER());
    this.subject = renderName(this.subjectDer);
    this.issuer = renderName(this.issuerDer);
    this.serialHex = serialHexFromContent(cert.serialNumber.valueBlock.valueHexView);
    this.notBefore = cert.notBefore.value;
    this.notAfter = cert.notAfter.value;
    this.spkiDer = new Uint8Array(cert.subjectPublicKeyInfo.toSchema().toBER());
    this.signatureAlgorithmOid = cert.signatureAlgorithm.algorithmId;
    const ext = new Map((cert.extensions ?? []).map((e) => [e.extnID, e]));
    this.subjectKeyIdHex = hexOf(ext.get(OID_EXT.subjectKeyIdentifier)?.parsedValue);
    this.authorityKeyIdHex = hexOf(
      (ext.get(OID_EXT.authorityKeyIdentifier)?.parsedValue as pkijs.AuthorityKeyIdentifier | undefined)?.keyIdentifier,
    );
    this.sans = sansOf(ext.get(OID_EXT.subjectAltName)?.parsedValue as pkijs.AltName | undefined);
    const bc = ext.get(OID_EXT.basicConstraints)?.parsedValue as pkijs.BasicConstraints | undefined;
    this.basicConstraints = bc === undefined ? undefined : basicConstraintsOf(bc);
    this.keyUsage = keyUsageOf(ext.get(OID_EXT.keyUsage)?.parsedValue);
    const eku = ext.get(OID_EXT.extKeyUsage)?.parsedValue as pkijs.ExtKeyUsage | undefined;
    this.extKeyUsage = eku?.keyPurposes.map((p) => purposeByOid.get(p) ?? p);
    Object.freeze(this);
  }

  /** basicConstraints cA (RFC 5280 §4.2.1.9). */
  get isCA(): boolean {
    return this.basicConstraints?.ca === true;
  }

  /** Issuer and subject are the same Name (self-issued, RFC 5280 §3.2). */
  get isSelfIssued(): boolean {
    return toHex(this.issuerDer) === toHex(this.subjectDer);
  }
}

export function viewCertificate(der: Uint8Array): CertificateView {
  return new CertificateView(der);
}

function hexOf(octets: unknown): string | undefined {
  if (octets === undefined || octets === null) return undefined;
  const view = (octets as { valueBlock?: { valueHexView?: Uint8Array } }).valueBlock?.valueHexView;
  return view === undefined ? undefined : toHex(view);
}

function basicConstraintsOf(bc: pkijs.BasicConstraints): BasicConstraintsView {
  const pathLen = bc.pathLenConstraint;
  const n = typeof pathLen === 'number' ? pathLen : pathLen?.valueBlock.valueDec;
  return n === undefined ? { ca: bc.cA } : { ca: bc.cA, pathLen: n };
}

/** An iPAddress SAN as text; octets of another length (malformed) as hex, to show what is there. */
function ipAddressText(octets: Uint8Array): string {
  const ip = ipAddressFromOctets(octets);
  return ip === undefined ? toHex(octets) : formatIpAddress(ip);
}

function sansOf(altName: pkijs.AltName | undefined): GeneralNameInput[] {
  const out: GeneralNameInput[] = [];
  for (const n of altName?.altNames ?? []) {
    if (n.type === 1) out.push({ type: 'email', value: String(n.value) });
    else if (n.type === 2) out.push({ type: 'dns', value: String(n.value) });
    else if (n.type === 6) out.push({ type: 'uri', value: String(n.value) });
    else if (n.type === 7) out.push({ type: 'ip', value: ipAddressText((n.value as { valueBlock: { valueHexView: Uint8Array } }).valueBlock.valueHexView) });
  }
  return out;
}

function keyUsageOf(bits: unknown): KeyUsage[] | undefined {
  const view = (bits as { valueBlock?: { valueHexView?: Uint8Array } } | undefined)?.valueBlock?.valueHexView;
  if (view === undefined) return undefined;
  return KEY_USAGES.filter((_, bit) => ((view[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0);
}
