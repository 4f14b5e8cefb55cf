// `adrestia-pki cluster rotate-root` and `cluster rotate-kek` (docs/architecture.md §19): the
// admin routes of api/ca-lifecycle-routes.ts. The KEK files are read as the server reads its own
// (config/secrets.ts: a regular file of mode 0600 or 0400, else refused naming the file); the
// KEKs go to the cluster only inside the HTTPS request pinned to the cluster root (--ca), and
// never to stdout, stderr or a log.
import { readFile } from 'node:fs/promises';
import { PkiError } from '@adrestia/pki-core';
import { writeFileAtomic } from '@adrestia/pki-core/support';
import { decodeKek, readSecretFile } from '../config/secrets.ts';
import { ServerError } from '../errors.ts';
import { jsonOf } from '../peer/http-request.ts';
import { need, UsageError, type ParsedArgs } from './args.ts';
import { fail } from './client-commands.ts';
import { adminCall } from './cluster-command.ts';

interface DescribedCert {
  subject: string;
  issuer: string;
  sha256Fingerprint: string;
  notAfter: string;
  pem: string;
}

interface RotatedRootBody {
  previousRootIssuerId: string;
  rootIssuerId: string;
  root: DescribedCert;
  crossCertificates: (DescribedCert & { signerIssuerId: string; subjectIssuerId: string; serialHex: string })[];
  azIcas: { az: string; issuerId: string }[];
}

/**
 * Prints the new root (subject, fingerprint) and both cross certificates, each with its PEM.
 * Under a root held offline, two runs: the first writes the rollover to sign to `--pending FILE`
 * (and its TBSCertificate to FILE.tbs); the second, with `--signed SIG` (the offline root's
 * signature over FILE.tbs), completes it.
 */
export async function rotateRoot(args: ParsedArgs): Promise<number> {
  const pendingFile = args.options.get('pending');
  const signed = args.options.get('signed');
  if (signed !== undefined) {
    if (pendingFile === undefined) throw new UsageError('--signed needs --pending FILE (the rollover the signature is for)');
    let pending: unknown;
    try {
      pending = JSON.parse(await readFile(pendingFile, 'utf8'));
    } catch (cause) {
      throw new PkiError('ERR_INPUT_INVALID', `--pending: ${pendingFile} is not a pending rollover written by rotate-root --pending (${(cause as Error).message})`, { field: 'pending', cause });
    }
    const signature = (await readFile(signed)).toString('base64');
    const r = await adminCall(args, 'POST', '/api/v1/root-rollovers', Buffer.from(JSON.stringify({ pending, signature })));
    return r.status === 201 ? printRotated(jsonOf(r) as RotatedRootBody) : fail(r);
  }
  const subject = args.options.get('subject');
  const r = await adminCall(args, 'POST', '/api/v1/root-rollovers', Buffer.from(JSON.stringify(subject === undefined ? {} : { rootSubject: subject })));
  if (r.status === 202) return keepPending(jsonOf(r) as { pending: PendingBody }, pendingFile);
  if (r.status !== 201) return fail(r);
  return printRotated(jsonOf(r) as RotatedRootBody);
}

interface PendingBody {
  previousRootIssuerId: string;
  tbsDer: string;
  signatureAlgorithm: string;
}

/** The OpenSSL command that signs `tbs` as the offline root's key type needs (pki-core ca/algorithms.ts). */
function signCommand(algorithm: string, tbs: string): string {
  if (algorithm === 'Ed25519') return `openssl pkeyutl -sign -rawin -inkey ROOT.key -in ${tbs} -out SIG`;
  const digest = /SHA(256|384|512)/i.exec(algorithm)?.[1] ?? '256';
  return `openssl dgst -sha${digest} -sign ROOT.key -out SIG ${tbs}`;
}

/** The first step under an offline root: the pending rollover to FILE (0600), its TBS to FILE.tbs. */
async function keepPending(body: { pending: PendingBody }, pendingFile: string | undefined): Promise<number> {
  if (pendingFile === undefined) {
    process.stderr.write('the cluster root is held offline: run again with --pending FILE to receive the certificate to sign\n');
    return 1;
  }
  const tbsFile = `${pendingFile}.tbs`;
  await writeFileAtomic(pendingFile, `${JSON.stringify(body.pending, null, 2)}\n`, 0o600, '--pending');
  await writeFileAtomic(tbsFile, Buffer.from(body.pending.tbsDer, 'base64'), 0o644, '--pending');
  process.stdout.write(
    [
      `the cluster root ${body.pending.previousRootIssuerId} is held offline: its cross certificate for the new root is to be signed offline.`,
      `TBSCertificate (DER): ${tbsFile}; the rollover to complete: ${pendingFile}`,
      `sign it with the offline root key (${body.pending.signatureAlgorithm}):`,
      `  ${signCommand(body.pending.signatureAlgorithm, tbsFile)}`,
      `then: adrestia-pki cluster rotate-root --pending ${pendingFile} --signed SIG …`,
    ].join('\n') + '\n',
  );
  return 0;
}

function printRotated(done: RotatedRootBody): number {
  const lines = [
    `new root: ${done.root.subject}`,
    `  sha256 fingerprint: ${done.root.sha256Fingerprint}`,
    `  issuer id: ${done.rootIssuerId} (follows ${done.previousRootIssuerId}); valid until ${done.root.notAfter}`,
    ...done.crossCertificates.flatMap((c) => [
      `cross certificate: ${c.subject} signed by ${c.issuer}`,
      `  serial ${c.serialHex}, sha256 fingerprint ${c.sha256Fingerprint}, valid until ${c.notAfter}`,
    ]),
    `AZ ICAs re-issued under the new root: ${done.azIcas.map((a) => `${a.az} (${a.issuerId})`).join(', ') || 'none'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n${done.root.pem}${done.crossCertificates.map((c) => c.pem).join('')}`);
  return 0;
}

/** A KEK from the file `--flag` names; errors name the flag and the file, never the content. */
async function kekFromFile(args: ParsedArgs, flag: 'old-kek' | 'new-kek'): Promise<Buffer> {
  const path = need(args.options, flag);
  let raw: Buffer;
  try {
    raw = await readSecretFile(path);
  } catch (e) {
    if (e instanceof ServerError) throw new ServerError(e.code, `--${flag}: ${e.message}`);
    throw e;
  }
  const decoded = decodeKek(raw);
  raw.fill(0);
  if (typeof decoded === 'string') throw new PkiError('ERR_INPUT_INVALID', `--${flag}: ${path} does not hold ${decoded}`, { field: flag });
  return decoded;
}

/** Re-seals every sealed key of the state under --new-kek (one `CaKeyRewrapped`); prints what it re-sealed. */
export async function rotateKek(args: ParsedArgs): Promise<number> {
  const oldKek = await kekFromFile(args, 'old-kek');
  const newKek = await kekFromFile(args, 'new-kek');
  const body = Buffer.from(JSON.stringify({ oldKek: oldKek.toString('base64'), newKek: newKek.toString('base64') }));
  oldKek.fill(0);
  newKek.fill(0);
  const r = await adminCall(args, 'POST', '/api/v1/kek-rotations', body);
  body.fill(0);
  if (r.status !== 200) return fail(r);
  const done = jsonOf(r) as { keys: ({ kind: 'ca'; role: string; issuerId: string } | { kind: 'ocspResponder'; az: string } | { kind: 'acmeEab'; keyId: string })[] };
  const names = done.keys.map((k) => (k.kind === 'ca' ? `${k.role} CA ${k.issuerId}` : k.kind === 'ocspResponder' ? `OCSP responder key of ${k.az}` : `ACME EAB key ${k.keyId}`));
  process.stdout.write(`re-sealed ${names.length} keys under the new KEK:\n${names.map((n) => `  ${n}\n`).join('')}`);
  process.stderr.write('every node must now hold the new KEK (kekFile, or nextKekFile until its next restart): docs/architecture.md §19.2\n');
  return 0;
}
