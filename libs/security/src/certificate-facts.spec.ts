import { X509Certificate } from 'node:crypto';

import { CertificateFactsCache, certificateSubjectRdns } from './certificate-facts.js';
import { evaluateClientCertificate } from './client-certificate.js';
import { issueTestCertificate, type TestCertificate } from './testing/test-pki.js';
import { thumbprintS256 } from './thumbprint.js';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('certificate facts cache', () => {
  let a: TestCertificate;
  let b: TestCertificate;
  let c: TestCertificate;

  beforeAll(async () => {
    [a, b, c] = await Promise.all(
      ['CN=a, O=Example', 'CN=b, O=Example', 'CN=c, O=Example'].map((subject) =>
        issueTestCertificate({ subject, sans: [{ type: 'url', value: `urn:test:${subject}` }] }),
      ),
    );
  });

  it('reads the names, URI SANs and CA status of a certificate', () => {
    const facts = new CertificateFactsCache().factsOf(a.cert);

    expect(facts.subjectDn).toBe('O=Example, CN=a');
    expect(facts.issuerDn).toBe('O=Example, CN=a');
    expect(facts.sanUris).toEqual(['urn:test:CN=a, O=Example']);
    expect(facts.authority).toBeUndefined();
  });

  it('reads a certificate once for the same DER bytes, even through another object', () => {
    const cache = new CertificateFactsCache();
    const first = cache.factsOf(a.cert);

    expect(cache.factsOf(new X509Certificate(a.der))).toBe(first);
    expect(cache.size).toBe(1);
  });

  it('keys by the x5t#S256 thumbprint, so different certificates never share facts', () => {
    const cache = new CertificateFactsCache();

    expect(thumbprintS256(a.cert)).not.toBe(thumbprintS256(b.cert));
    expect(cache.factsOf(a.cert).subjectDn).toBe('O=Example, CN=a');
    expect(cache.factsOf(b.cert).subjectDn).toBe('O=Example, CN=b');
  });

  it('holds no more than maxEntries certificates, dropping the least recently used', () => {
    const cache = new CertificateFactsCache({ maxEntries: 2 });
    const factsOfA = cache.factsOf(a.cert);
    const factsOfB = cache.factsOf(b.cert);
    cache.factsOf(a.cert);
    cache.factsOf(c.cert);

    expect(cache.size).toBe(2);
    expect(cache.factsOf(a.cert)).toBe(factsOfA);
    const rereadB = cache.factsOf(b.cert);
    expect(rereadB).not.toBe(factsOfB);
    expect(rereadB).toEqual(factsOfB);
    expect(cache.size).toBe(2);
  });

  it('treats a bound below one as one entry', () => {
    const cache = new CertificateFactsCache({ maxEntries: 0 });
    cache.factsOf(a.cert);
    cache.factsOf(b.cert);

    expect(cache.size).toBe(1);
  });

  it('gives frozen facts, so no caller can change what the next delivery reads', () => {
    const facts = new CertificateFactsCache().factsOf(a.cert);

    expect(Object.isFrozen(facts)).toBe(true);
    expect(Object.isFrozen(facts.subject)).toBe(true);
    expect(Object.isFrozen(facts.subject[0])).toBe(true);
    expect(Object.isFrozen(facts.subject[0][0])).toBe(true);
    expect(Object.isFrozen(facts.sanUris)).toBe(true);
  });

  it('hands each caller its own copy of the subject RDNs', () => {
    const mine = certificateSubjectRdns(a.cert);
    mine.pop();

    expect(certificateSubjectRdns(a.cert)).toHaveLength(2);
  });

  it('still checks validity against the clock once the certificate has been seen', async () => {
    const now = Date.now();
    const { cert } = await issueTestCertificate({
      subject: 'CN=short-lived',
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + DAY_MS),
    });
    const policy = { pins: [thumbprintS256(cert)] };
    const presented = { source: 'tls' as const, leaf: cert, authorized: true };

    expect(evaluateClientCertificate(presented, policy, new Date(now)).ok).toBe(true);
    expect(evaluateClientCertificate(presented, policy, new Date(now + 2 * DAY_MS))).toMatchObject({
      ok: false,
      reason: 'certificate_expired',
    });
    expect(evaluateClientCertificate(presented, policy, new Date(now - 2 * DAY_MS))).toMatchObject({
      ok: false,
      reason: 'certificate_not_yet_valid',
    });
  });
});
