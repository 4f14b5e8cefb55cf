// PEM text encoding (RFC 7468): base64 in 64-character lines between BEGIN/END labels.
import { PkiError } from '../errors.ts';

export type PemLabel = 'CERTIFICATE' | 'X509 CRL' | 'CERTIFICATE REQUEST' | 'PRIVATE KEY' | 'PUBLIC KEY';

const pemLineChars = 64;

export function toPem(der: Uint8Array, label: PemLabel = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += pemLineChars) body += `${b64.slice(i, i + pemLineChars)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

const blockPattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order (text outside blocks is ignored, RFC 7468 §2). */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(blockPattern)) {
    const body = m[2]!.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw new PkiError('ERR_INPUT_INVALID', `PEM block ${m[1]} is not base64`, { field: 'pem' });
    out.push({ label: m[1]!, der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return out;
}

/** The DER of the first block labelled `label` (any label if omitted). */
export function fromPem(text: string, label?: PemLabel): Uint8Array {
  const block = pemBlocks(text).find((b) => label === undefined || b.label === label);
  if (block === undefined) {
    throw new PkiError('ERR_INPUT_INVALID', `no PEM block${label === undefined ? '' : ` labelled ${label}`} found`, { field: 'pem' });
  }
  return block.der;
}
