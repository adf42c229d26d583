import { evaluateClientCertificate, type CertificatePolicy } from './client-certificate.js';
import { createTestPki, issueTestCertificate, type TestPki } from './testing/test-pki.js';
import { thumbprintS256 } from './thumbprint.js';
import { createTrustBundle, type TrustBundle } from './trust-bundle.js';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('client certificate policy', () => {
  let pki: TestPki;
  let trust: TrustBundle;

  beforeAll(async () => {
    pki = await createTestPki();
    const bundle = createTrustBundle(pki.root.pem);
    if (!bundle.ok) throw new Error('bundle');
    trust = bundle.evidence;
  });

  const forwarded = () => ({
    source: 'forwarded' as const,
    leaf: pki.leaf.cert,
    chain: [pki.intermediate.cert],
  });

  it('accepts a trusted forwarded certificate and reports safe evidence', () => {
    const verdict = evaluateClientCertificate(forwarded(), { trust });
    expect(verdict).toEqual({
      ok: true,
      evidence: {
        source: 'forwarded',
        subject: 'C=US, O=Example Corp, OU=Connect, CN=connect.example.test',
        issuer: 'O=Countersign, CN=Countersign Test Intermediate CA',
        serialNumber: pki.leaf.cert.serialNumber,
        thumbprint: thumbprintS256(pki.leaf.cert),
        notAfter: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    });
  });

  it('rejects every certificate when the policy has neither trust nor pins', () => {
    expect(evaluateClientCertificate(forwarded(), {})).toMatchObject({
      reason: 'certificate_policy_invalid',
    });
    expect(
      evaluateClientCertificate(forwarded(), { pins: [], subjects: [{ sanDns: 'x' }] }),
    ).toMatchObject({
      reason: 'certificate_policy_invalid',
    });
  });

  it('rejects a TLS connection without a certificate as certificate_missing', () => {
    expect(
      evaluateClientCertificate({ source: 'tls', authorized: false }, { trust }),
    ).toMatchObject({
      reason: 'certificate_missing',
    });
  });

  it('rejects a TLS certificate the socket did not authorize', () => {
    const presented = {
      source: 'tls' as const,
      leaf: pki.leaf.cert,
      authorized: false,
      authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    };
    expect(evaluateClientCertificate(presented, { trust })).toMatchObject({
      reason: 'certificate_not_trusted',
    });
  });

  it('maps the socket error CERT_HAS_EXPIRED to certificate_expired', () => {
    const presented = {
      source: 'tls' as const,
      leaf: pki.leaf.cert,
      authorized: false,
      authorizationError: 'CERT_HAS_EXPIRED',
    };
    expect(evaluateClientCertificate(presented, { trust })).toMatchObject({
      reason: 'certificate_expired',
    });
  });

  it('accepts a TLS certificate the socket authorized', () => {
    const presented = { source: 'tls' as const, leaf: pki.leaf.cert, authorized: true };
    expect(evaluateClientCertificate(presented, { trust })).toMatchObject({
      ok: true,
      evidence: { source: 'tls' },
    });
  });

  it('rejects a forwarded certificate that does not chain to the bundle', async () => {
    const other = await createTestPki('Other');
    const presented = {
      source: 'forwarded' as const,
      leaf: other.leaf.cert,
      chain: [other.intermediate.cert],
    };
    expect(evaluateClientCertificate(presented, { trust })).toMatchObject({
      reason: 'certificate_not_trusted',
    });
  });

  it('checks validity after trust: an authorized but expired certificate is rejected', async () => {
    const now = Date.now();
    const expired = await issueTestCertificate({
      subject: 'CN=expired',
      notBefore: new Date(now - 10 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    });
    const presented = { source: 'tls' as const, leaf: expired.cert, authorized: true };
    expect(evaluateClientCertificate(presented, { trust })).toMatchObject({
      reason: 'certificate_expired',
    });
  });

  it('accepts when any one of the subject rules matches', () => {
    const policy: CertificatePolicy = {
      trust,
      subjects: [{ sanDns: 'nope.example.test' }, { sanIp: '2001:db8:0::1' }],
    };
    expect(evaluateClientCertificate(forwarded(), policy).ok).toBe(true);
  });

  it('rejects a trusted certificate whose subject matches no rule', () => {
    const policy: CertificatePolicy = { trust, subjects: [{ subjectDn: 'CN=DocuSign Connect' }] };
    expect(evaluateClientCertificate(forwarded(), policy)).toMatchObject({
      reason: 'certificate_subject_mismatch',
    });
  });

  it('reports an unusable subject rule as a policy error when no rule matches', () => {
    const policy: CertificatePolicy = { trust, subjects: [{ sanIp: 'not-an-ip' }] };
    expect(evaluateClientCertificate(forwarded(), policy)).toMatchObject({
      reason: 'certificate_policy_invalid',
    });
  });

  it('rejects a trusted certificate that is not among the pins', () => {
    expect(
      evaluateClientCertificate(forwarded(), { trust, pins: [thumbprintS256(pki.root.cert)] }),
    ).toMatchObject({
      reason: 'certificate_not_pinned',
    });
  });

  it('accepts a pinned self-signed certificate with a pins-only policy', async () => {
    const selfSigned = await issueTestCertificate({ subject: 'CN=self-signed' });
    const presented = {
      source: 'tls' as const,
      leaf: selfSigned.cert,
      authorized: false,
      authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    };
    expect(
      evaluateClientCertificate(presented, { pins: [thumbprintS256(selfSigned.cert)] }).ok,
    ).toBe(true);
    expect(
      evaluateClientCertificate(presented, { pins: [thumbprintS256(pki.leaf.cert)] }),
    ).toMatchObject({
      reason: 'certificate_not_pinned',
    });
  });

  it('uses the given time for validity', () => {
    const later = new Date(Date.now() + 400 * DAY_MS);
    expect(evaluateClientCertificate(forwarded(), { trust }, later)).toMatchObject({
      reason: 'certificate_expired',
    });
  });
});
