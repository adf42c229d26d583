import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import fc from 'fast-check';

import { checkValidity, parseCertificate, parseCertificateChain } from './certificate.js';
import { createTestPki, issueTestCertificate, type TestPki } from './testing/test-pki.js';

const RFC8705_PEM = readFileSync(resolve('test/fixtures/certs/rfc8705-appendix-a.pem'), 'utf8');

describe('certificate parsing', () => {
  let pki: TestPki;

  beforeAll(async () => {
    pki = await createTestPki();
  });

  it('parses the RFC 8705 appendix certificate from PEM text', () => {
    const verdict = parseCertificate(RFC8705_PEM);
    expect(verdict.ok).toBe(true);
    expect(verdict.ok && verdict.evidence.subject).toBe('CN=mtls');
  });

  it('parses the same certificate from DER bytes', () => {
    const fromPem = parseCertificate(RFC8705_PEM);
    if (!fromPem.ok) throw new Error('fixture must parse');
    const fromDer = parseCertificate(fromPem.evidence.raw);
    expect(fromDer.ok && fromDer.evidence.raw.equals(fromPem.evidence.raw)).toBe(true);
  });

  it('rejects DER bytes followed by trailing garbage', () => {
    const der = Buffer.concat([pki.leaf.der, Buffer.from([0, 1, 2])]);
    expect(parseCertificate(der)).toMatchObject({ ok: false, reason: 'certificate_malformed' });
  });

  it('rejects PEM text holding two certificates where one is expected', () => {
    expect(parseCertificate(pki.leaf.pem + pki.root.pem)).toMatchObject({
      ok: false,
      reason: 'certificate_malformed',
    });
  });

  it.each([
    ['empty string', ''],
    ['not PEM', 'hello'],
    ['PEM with a non-base64 body', '-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----'],
    [
      'PEM with a base64 body that is not DER',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
    ],
  ])('rejects %s as certificate_malformed', (_label, input) => {
    expect(parseCertificate(input)).toMatchObject({ ok: false, reason: 'certificate_malformed' });
  });

  it('rejects empty DER bytes', () => {
    expect(parseCertificate(Buffer.alloc(0))).toMatchObject({ reason: 'certificate_malformed' });
  });

  it('parses a chain of PEM blocks in the order written', () => {
    const verdict = parseCertificateChain(
      `${pki.leaf.pem}\n${pki.intermediate.pem}\n${pki.root.pem}`,
    );
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.evidence.map((cert) => cert.raw)).toEqual([
      pki.leaf.der,
      pki.intermediate.der,
      pki.root.der,
    ]);
  });

  it('rejects a chain with no certificate in it', () => {
    expect(parseCertificateChain('nothing here')).toMatchObject({
      reason: 'certificate_malformed',
    });
  });

  it('never throws on arbitrary PEM-like text', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (inner, outer) => {
        const text = `${outer}-----BEGIN CERTIFICATE-----${inner}-----END CERTIFICATE-----${outer}`;
        const single = parseCertificate(text);
        const chain = parseCertificateChain(text);
        return typeof single.ok === 'boolean' && typeof chain.ok === 'boolean';
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        return typeof parseCertificate(Buffer.from(bytes)).ok === 'boolean';
      }),
    );
  });
});

describe('certificate validity', () => {
  const notBefore = new Date('2026-01-01T00:00:00Z');
  const notAfter = new Date('2026-06-30T00:00:00Z');

  it('accepts a time inside the validity period, including both ends', async () => {
    const { cert } = await issueTestCertificate({ subject: 'CN=valid', notBefore, notAfter });
    expect(checkValidity(cert, new Date('2026-03-01T00:00:00Z'))).toEqual({
      ok: true,
      evidence: { notBefore, notAfter },
    });
    expect(checkValidity(cert, notBefore).ok).toBe(true);
    expect(checkValidity(cert, notAfter).ok).toBe(true);
  });

  it('rejects an expired certificate one second after notAfter', async () => {
    const { cert } = await issueTestCertificate({ subject: 'CN=expired', notBefore, notAfter });
    expect(checkValidity(cert, new Date(notAfter.getTime() + 1000))).toMatchObject({
      ok: false,
      reason: 'certificate_expired',
    });
  });

  it('rejects a certificate that is not valid yet', async () => {
    const { cert } = await issueTestCertificate({ subject: 'CN=future', notBefore, notAfter });
    expect(checkValidity(cert, new Date(notBefore.getTime() - 1000))).toMatchObject({
      ok: false,
      reason: 'certificate_not_yet_valid',
    });
  });

  it('rejects rather than accepts when the current time is not a valid date', async () => {
    const { cert } = await issueTestCertificate({ subject: 'CN=valid', notBefore, notAfter });
    expect(checkValidity(cert, new Date(Number.NaN)).ok).toBe(false);
  });

  it.each([
    ['UTCTime on a single-digit day', '2026-02-03T04:05:06Z', '2026-12-31T23:59:59Z'],
    ['UTCTime at its first and last years', '1950-01-01T00:00:00Z', '2049-12-31T23:59:59Z'],
    ['GeneralizedTime from 2050 on', '2050-01-01T00:00:00Z', '9999-12-31T23:59:59Z'],
    ['a leap day', '2028-02-29T12:00:00Z', '2028-03-01T00:00:01Z'],
  ])('reads the validity period to the second from %s', async (_label, from, to) => {
    const period = { notBefore: new Date(from), notAfter: new Date(to) };
    const { cert } = await issueTestCertificate({ subject: 'CN=dated', ...period });

    expect(checkValidity(cert, period.notBefore)).toEqual({ ok: true, evidence: period });
    expect(checkValidity(cert, new Date(period.notBefore.getTime() - 1000)).ok).toBe(false);
    expect(checkValidity(cert, new Date(period.notAfter.getTime() + 1000)).ok).toBe(false);
  });

  it('reports the RFC 8705 appendix certificate as expired today', () => {
    const verdict = parseCertificate(RFC8705_PEM);
    if (!verdict.ok) throw new Error('fixture must parse');
    expect(checkValidity(verdict.evidence)).toMatchObject({ reason: 'certificate_expired' });
  });
});
