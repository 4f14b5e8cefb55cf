import { expect } from 'chai';
import { PKI_ERROR_CODES, PkiError } from '@adrestia/pki-core';
import { ERROR_CODES, HTTP_STATUS_BY_CODE, SERVER_ERROR_CODES, ServerError, toErrorResponse } from '../src/errors.ts';

describe('error code → HTTP status table', function () {
  it('maps every PKI and server code to a 4xx/5xx status, and nothing else', function () {
    expect(Object.keys(HTTP_STATUS_BY_CODE)).to.have.members([...PKI_ERROR_CODES, ...SERVER_ERROR_CODES]);
    for (const code of ERROR_CODES) expect(HTTP_STATUS_BY_CODE[code], code).to.be.within(400, 599);
  });

  it('keeps the server codes the HTTP layer relies on', function () {
    expect(HTTP_STATUS_BY_CODE).to.include({
      ERR_BODY_TOO_LARGE: 413,
      ERR_BAD_JSON: 400,
      ERR_UNSUPPORTED_MEDIA_TYPE: 415,
      ERR_NOT_FOUND_ROUTE: 404,
      ERR_METHOD: 405,
      ERR_INTERNAL: 500,
      ERR_UNAUTHORIZED: 401,
      ERR_FORBIDDEN: 403,
      ERR_UNAVAILABLE: 503,
      ERR_NOT_LEADER: 503,
      ERR_AUTH_PSK_PROOF: 401,
    });
  });

  it('renders typed errors as {error: {code, message, field}}', function () {
    const r = toErrorResponse(new PkiError('ERR_SAN_FORBIDDEN', 'dns name not allowed', { field: 'sans[2]' }));
    expect(r.status).to.equal(403);
    expect(r.body).to.deep.equal({ error: { code: 'ERR_SAN_FORBIDDEN', message: 'dns name not allowed', field: 'sans[2]' } });
    expect(r.unexpected).to.equal(undefined);
    const s = toErrorResponse(new ServerError('ERR_BAD_JSON', 'body is not valid JSON'));
    expect(s.body).to.deep.equal({ error: { code: 'ERR_BAD_JSON', message: 'body is not valid JSON' } });
  });

  it('RFC 6585 §4: ERR_RATE_LIMITED is 429 and carries its Retry-After seconds; other errors carry none', function () {
    const r = toErrorResponse(new PkiError('ERR_RATE_LIMITED', 'provisioner ci reached its rate limit', { field: 'authorization', retryAfterSeconds: 7 }));
    expect([r.status, r.retryAfterSeconds, r.body.error.code]).to.deep.equal([429, 7, 'ERR_RATE_LIMITED']);
    expect(toErrorResponse(new PkiError('ERR_NAME_NOT_ALLOWED', 'sans[0]: "www.google.com" is outside')).status).to.equal(403);
    expect(toErrorResponse(new PkiError('ERR_SAN_FORBIDDEN', 'no')).retryAfterSeconds).to.equal(undefined);
  });

  it('turns an unknown error into 500 ERR_INTERNAL without its message, handing back the cause', function () {
    const cause = new Error('ENOENT /var/lib/adrestia/root.key');
    const r = toErrorResponse(cause);
    expect(r.status).to.equal(500);
    expect(r.body).to.deep.equal({ error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    expect(r.unexpected).to.equal(cause);
  });
});
