import { expect } from 'chai';
import { Writable } from 'node:stream';
import { Secret } from '../src/config/secret.ts';
import { createLogger } from '../src/log/logger.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const text = (): string => chunks.join('');
  return { stream, text, lines: () => text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logging: secrets are redacted', function () {
  const SECRETS = ['psk-VALUE-1', 'kek-VALUE-2', 'token-VALUE-3', 'key-VALUE-4', 'pk-VALUE-5', 'Bearer auth-VALUE-6', 'deep-VALUE-7', 'bind-VALUE-8', 'secret-VALUE-9'];

  it('hides psk, kek, token, key, privateKey and authorization headers at any depth', function () {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out.stream });
    log.info(
      {
        psk: SECRETS[0],
        node: { kek: SECRETS[1], joinToken: SECRETS[2] },
        tls: { key: SECRETS[3], privateKey: SECRETS[4], cert: 'public-cert' },
        req: { headers: { authorization: SECRETS[5], 'X-Adrestia-Psk': SECRETS[8], host: 'pki.example' } },
        a: { b: { c: { d: { admin_token: SECRETS[6] } } } },
        list: [{ token: SECRETS[2] }],
        wrapped: new Secret(Buffer.from('wrapped-VALUE')),
      },
      'startup',
    );
    log.child({ authPsk: SECRETS[7] }).warn('child line');
    const text = out.text();
    for (const s of [...SECRETS, 'wrapped-VALUE']) expect(text).not.to.contain(s);
    const [first, second] = out.lines();
    expect(first?.['msg']).to.equal('startup');
    expect((first?.['tls'] as Record<string, unknown>)['cert']).to.equal('public-cert');
    expect(((first?.['req'] as Record<string, Record<string, unknown>>)['headers'])?.['host']).to.equal('pki.example');
    expect((first?.['node'] as Record<string, unknown>)['kek']).to.equal('[REDACTED]');
    expect(second?.['authPsk']).to.equal('[REDACTED]');
    expect(second?.['level']).to.equal('warn');
  });
});
