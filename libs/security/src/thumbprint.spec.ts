import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { parseCertificate } from './certificate.js';
import { issueTestCertificate } from './testing/test-pki.js';
import { matchesPinnedThumbprint, thumbprintS256 } from './thumbprint.js';

function fixtureCertificate() {
  const verdict = parseCertificate(
    readFileSync(resolve('test/fixtures/certs/rfc8705-appendix-a.pem'), 'utf8'),
  );
  if (!verdict.ok) throw new Error('fixture must parse');
  return verdict.evidence;
}

describe('x5t#S256 thumbprint', () => {
  it('gives the RFC 8705 appendix value for its certificate', () => {
    expect(thumbprintS256(fixtureCertificate())).toBe(
      'A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0',
    );
  });

  it('is base64url without padding over the DER bytes', async () => {
    const { cert, der } = await issueTestCertificate({ subject: 'CN=thumb' });
    const thumbprint = thumbprintS256(cert);
    expect(thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(thumbprint, 'base64url')).toEqual(createHash('sha256').update(der).digest());
  });

  it('gives each certificate its own thumbprint when asked again and again', async () => {
    const [a, b] = await Promise.all([
      issueTestCertificate({ subject: 'CN=first' }),
      issueTestCertificate({ subject: 'CN=second' }),
    ]);
    const digest = (der: Buffer) => createHash('sha256').update(der).digest('base64url');

    for (let round = 0; round < 2; round += 1) {
      expect(thumbprintS256(a.cert)).toBe(digest(a.der));
      expect(thumbprintS256(b.cert)).toBe(digest(b.der));
    }
  });
});

describe('thumbprint pinning', () => {
  const cert = fixtureCertificate();
  const pin = 'A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0';

  it('matches when one of several pins is the certificate thumbprint', () => {
    expect(matchesPinnedThumbprint(cert, ['x'.repeat(43), pin])).toBe(true);
  });

  it('does not match with no pins', () => {
    expect(matchesPinnedThumbprint(cert, [])).toBe(false);
  });

  it.each([
    ['SHA-1 hex', createHash('sha1').update(cert.raw).digest('hex')],
    ['SHA-256 hex', createHash('sha256').update(cert.raw).digest('hex')],
    ['padded standard base64', createHash('sha256').update(cert.raw).digest('base64')],
    ['the pin with a trailing space', `${pin} `],
    ['the pin in lower case', pin.toLowerCase()],
  ])('does not match a pin written as %s', (_label, wrong) => {
    expect(matchesPinnedThumbprint(cert, [wrong])).toBe(false);
  });
});
