import { createHash } from 'node:crypto';

import type { AccessTokenClaims } from './access-token.verifier.js';
import { checkCertificateBinding } from './certificate-binding.js';
import { issueTestCertificate, type TestCertificate } from './testing/test-pki.js';
import { thumbprintS256 } from './thumbprint.js';

function claims(cnf?: Record<string, unknown>): AccessTokenClaims {
  return {
    iss: 'https://auth.test',
    sub: 'client',
    aud: ['https://listener.test'],
    client_id: 'client',
    jti: 'j1',
    iat: 1,
    exp: 2,
    scope: [],
    ...(cnf === undefined ? {} : { cnf }),
  };
}

describe('certificate-bound tokens (RFC 8705)', () => {
  let client: TestCertificate;
  let other: TestCertificate;

  beforeAll(async () => {
    client = await issueTestCertificate({ subject: 'CN=client' });
    other = await issueTestCertificate({ subject: 'CN=other' });
  });

  it('accepts a token bound to the presented certificate', () => {
    const thumbprint = thumbprintS256(client.cert);
    expect(checkCertificateBinding(claims({ 'x5t#S256': thumbprint }), client.cert, true)).toEqual({
      ok: true,
      evidence: { bound: true, thumbprint },
    });
  });

  it('rejects a token bound to another certificate', () => {
    const bound = claims({ 'x5t#S256': thumbprintS256(other.cert) });
    expect(checkCertificateBinding(bound, client.cert, false)).toMatchObject({
      reason: 'token_binding_mismatch',
    });
  });

  it('rejects a bound token presented without a certificate', () => {
    const bound = claims({ 'x5t#S256': thumbprintS256(client.cert) });
    expect(checkCertificateBinding(bound, undefined, false)).toMatchObject({
      reason: 'token_bound_without_certificate',
    });
  });

  it('rejects an unbound token when binding is required', () => {
    expect(checkCertificateBinding(claims(), client.cert, true)).toMatchObject({
      reason: 'token_not_bound',
    });
  });

  it('accepts an unbound token when binding is not required', () => {
    expect(checkCertificateBinding(claims(), undefined, false)).toEqual({
      ok: true,
      evidence: { bound: false },
    });
  });

  it('rejects a cnf with only members it cannot verify (DPoP jkt)', () => {
    expect(checkCertificateBinding(claims({ jkt: 'abc' }), client.cert, false)).toMatchObject({
      reason: 'token_cnf_unsupported',
    });
  });

  it('rejects an empty cnf', () => {
    expect(checkCertificateBinding(claims({}), client.cert, false)).toMatchObject({
      reason: 'token_cnf_unsupported',
    });
  });

  it('rejects a cnf whose x5t#S256 is not a string', () => {
    expect(checkCertificateBinding(claims({ 'x5t#S256': 42 }), client.cert, false)).toMatchObject({
      reason: 'token_cnf_unsupported',
    });
  });

  it.each([
    ['SHA-1 hex', (der: Buffer) => createHash('sha1').update(der).digest('hex')],
    ['SHA-256 hex', (der: Buffer) => createHash('sha256').update(der).digest('hex')],
    ['padded standard base64', (der: Buffer) => createHash('sha256').update(der).digest('base64')],
    ['the x5t (SHA-1) form', (der: Buffer) => createHash('sha1').update(der).digest('base64url')],
    [
      'SHA-256 over the PEM text',
      (_der: Buffer, pem: string) => createHash('sha256').update(pem).digest('base64url'),
    ],
  ])('rejects a binding written as %s', (_label, encode) => {
    const bound = claims({ 'x5t#S256': encode(client.der, client.pem) });
    expect(checkCertificateBinding(bound, client.cert, true)).toMatchObject({
      reason: 'token_binding_mismatch',
    });
  });
});
