// Parser for the string form of a distinguished name, RFC 4514 §3: RDNs separated by `,`,
// multi-valued RDNs joined by `+`, values either escaped strings or `#`-prefixed hex of their
// BER encoding. Leniency, as RFC 4514 §4 allows for input: spaces around `,`, `+` and `=` are
// ignored (a value's own leading or trailing space must be escaped, §2.4), and `;` separates RDNs
// as in RFC 1779. The RDNs come back in string order: most specific (e.g. CN) first.
import { PkiError } from '../errors.ts';

type ParsedValue = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'hex'; readonly der: Uint8Array };

export interface ParsedAttribute {
  /** A short name (`CN`) or a dotted OID (`2.5.4.3`), as written. */
  readonly type: string;
  readonly value: ParsedValue;
}

/** Longest subject string accepted: far beyond any real name, it bounds the work. */
const subjectStringMaxChars = 4096;

const descrRe = /^[A-Za-z][A-Za-z0-9-]*$/;
const numericOidRe = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/;
// RFC 4514 §2.4: the characters that must be escaped, plus `=` and ` ` which may be.
const escapable = new Set(['"', '+', ',', ';', '<', '>', '\\', '#', '=', ' ']);
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

class Cursor {
  at = 0;
  constructor(
    readonly text: string,
    readonly field: string,
  ) {}
  peek(): string | undefined {
    return this.text[this.at];
  }
  skipSpaces(): void {
    while (this.text[this.at] === ' ') this.at++;
  }
  fail(why: string): never {
    throw new PkiError('ERR_SUBJECT_INVALID', `${this.field}: ${why} at character ${this.at + 1}`, { field: this.field });
  }
}

/** Parses `text` into RDNs (string order), each a non-empty list of attributes. */
export function parseDnString(text: string, field = 'subject'): ParsedAttribute[][] {
  if (typeof text !== 'string') throw new TypeError('parseDnString: text must be a string');
  if (text.length > subjectStringMaxChars) {
    throw new PkiError('ERR_SUBJECT_INVALID', `${field}: longer than ${subjectStringMaxChars} characters`, { field });
  }
  const c = new Cursor(text, field);
  c.skipSpaces();
  if (c.peek() === undefined) return [];
  const rdns: ParsedAttribute[][] = [];
  let rdn: ParsedAttribute[] = [];
  for (;;) {
    rdn.push(parseAttribute(c));
    const sep = c.peek();
    if (sep === undefined) break;
    c.at++;
    if (sep === '+') continue;
    rdns.push(rdn);
    rdn = [];
  }
  rdns.push(rdn);
  return rdns;
}

function parseAttribute(c: Cursor): ParsedAttribute {
  c.skipSpaces();
  const eq = c.text.indexOf('=', c.at);
  if (eq < 0) c.fail('expected TYPE=value');
  const type = c.text.slice(c.at, eq).trim();
  if (!descrRe.test(type) && !numericOidRe.test(type)) c.fail(`bad attribute type ${JSON.stringify(type)}`);
  c.at = eq + 1;
  c.skipSpaces();
  const value = c.peek() === '#' ? parseHexValue(c) : parseTextValue(c);
  c.skipSpaces();
  const next = c.peek();
  if (next !== undefined && next !== ',' && next !== '+' && next !== ';') c.fail(`unexpected ${JSON.stringify(next)}`);
  return { type, value };
}

/** `#` hexstring (RFC 4514 §2.4): the BER encoding of the value, in hex. */
function parseHexValue(c: Cursor): ParsedValue {
  c.at++;
  const start = c.at;
  while (c.at < c.text.length && /[0-9A-Fa-f]/.test(c.text[c.at]!)) c.at++;
  const hex = c.text.slice(start, c.at);
  if (hex.length === 0 || hex.length % 2 !== 0) c.fail('a #hex value needs an even, non-zero number of hex digits');
  return { kind: 'hex', der: Uint8Array.from(Buffer.from(hex, 'hex')) };
}

function parseTextValue(c: Cursor): ParsedValue {
  const bytes: number[] = [];
  let keptBytes = 0; // bytes up to the last escaped or non-space character
  for (let ch = c.peek(); ch !== undefined && ch !== ',' && ch !== '+' && ch !== ';'; ch = c.peek()) {
    if (ch === '\\') {
      c.at++;
      readEscape(c, bytes);
      keptBytes = bytes.length;
      continue;
    }
    // RFC 4514 §3 stringchar excludes these; `=` is allowed unescaped in a value.
    if (ch === '"' || ch === '<' || ch === '>') c.fail(`${JSON.stringify(ch)} must be escaped`);
    const cp = c.text.codePointAt(c.at)!;
    const s = String.fromCodePoint(cp);
    bytes.push(...utf8.encode(s));
    c.at += s.length;
    if (ch !== ' ') keptBytes = bytes.length;
  }
  try {
    return { kind: 'text', text: utf8Strict.decode(Uint8Array.from(bytes.slice(0, keptBytes))) };
  } catch {
    return c.fail('escaped bytes are not valid UTF-8');
  }
}

function readEscape(c: Cursor, bytes: number[]): void {
  const a = c.text[c.at];
  const b = c.text[c.at + 1];
  if (a !== undefined && b !== undefined && /^[0-9A-Fa-f]{2}$/.test(a + b)) {
    bytes.push(parseInt(a + b, 16));
    c.at += 2;
    return;
  }
  if (a === undefined || !escapable.has(a)) c.fail('bad escape');
  bytes.push(a.charCodeAt(0));
  c.at++;
}
