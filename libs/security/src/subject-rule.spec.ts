import { createTestPki, issueTestCertificate, type TestPki } from './testing/test-pki.js';
import { matchSubject } from './subject-rule.js';

describe('subject rules', () => {
  let pki: TestPki;

  beforeAll(async () => {
    pki = await createTestPki();
  });

  it('accepts the subject DN written in another order and spacing', () => {
    const verdict = matchSubject(pki.leaf.cert, {
      subjectDn: 'C=US,  O=example corp, OU=Connect,CN=connect.example.test',
    });
    expect(verdict.ok).toBe(true);
  });

  it('rejects a subject DN that names another organisation', () => {
    expect(
      matchSubject(pki.leaf.cert, { subjectDn: 'CN=connect.example.test,OU=Connect,O=Evil,C=US' }),
    ).toMatchObject({ ok: false, reason: 'certificate_subject_mismatch' });
  });

  it('rejects a subject DN that is only a subset of the subject', () => {
    expect(matchSubject(pki.leaf.cert, { subjectDn: 'CN=connect.example.test' })).toMatchObject({
      reason: 'certificate_subject_mismatch',
    });
  });

  it('reports an unparsable subject DN rule as a policy error', () => {
    expect(matchSubject(pki.leaf.cert, { subjectDn: 'CN=a;O=b' })).toMatchObject({
      reason: 'certificate_policy_invalid',
    });
  });

  it('accepts an exact dNSName and rejects a parent or sibling name', () => {
    expect(matchSubject(pki.leaf.cert, { sanDns: 'connect.example.test' }).ok).toBe(true);
    expect(matchSubject(pki.leaf.cert, { sanDns: 'example.test' })).toMatchObject({
      reason: 'certificate_subject_mismatch',
    });
    expect(matchSubject(pki.leaf.cert, { sanDns: 'other.example.test' })).toMatchObject({
      reason: 'certificate_subject_mismatch',
    });
  });

  it('does not fall back to the subject CN for dNSName rules', async () => {
    const { cert } = await issueTestCertificate({ subject: 'CN=cn-only.example.test' });
    expect(matchSubject(cert, { sanDns: 'cn-only.example.test' })).toMatchObject({
      reason: 'certificate_subject_mismatch',
    });
  });

  it('does not honour a wildcard dNSName', async () => {
    const { cert } = await issueTestCertificate({
      subject: 'CN=wild',
      sans: [{ type: 'dns', value: '*.example.test' }],
    });
    expect(matchSubject(cert, { sanDns: 'connect.example.test' })).toMatchObject({
      reason: 'certificate_subject_mismatch',
    });
  });

  it('compares IP addresses as bytes, for IPv4 and IPv6', () => {
    expect(matchSubject(pki.leaf.cert, { sanIp: '192.0.2.10' }).ok).toBe(true);
    expect(matchSubject(pki.leaf.cert, { sanIp: '2001:db8::1' }).ok).toBe(true);
    expect(matchSubject(pki.leaf.cert, { sanIp: '2001:0db8:0:0:0:0:0:1' }).ok).toBe(true);
    expect(matchSubject(pki.leaf.cert, { sanIp: '192.0.2.11' })).toMatchObject({
      reason: 'certificate_subject_mismatch',
    });
  });

  it('matches ::1 against a SAN written 0:0:0:0:0:0:0:1', async () => {
    const { cert } = await issueTestCertificate({
      subject: 'CN=loopback',
      sans: [{ type: 'ip', value: '0:0:0:0:0:0:0:1' }],
    });
    expect(matchSubject(cert, { sanIp: '::1' }).ok).toBe(true);
  });

  it('reports an IP rule that is not an address as a policy error', () => {
    expect(matchSubject(pki.leaf.cert, { sanIp: '192.0.2' })).toMatchObject({
      reason: 'certificate_policy_invalid',
    });
  });

  it('compares URIs as exact strings', () => {
    expect(
      matchSubject(pki.leaf.cert, { sanUri: 'https://connect.example.test/listener' }).ok,
    ).toBe(true);
    expect(
      matchSubject(pki.leaf.cert, { sanUri: 'https://connect.example.test/listener/' }),
    ).toMatchObject({
      reason: 'certificate_subject_mismatch',
    });
    expect(
      matchSubject(pki.leaf.cert, { sanUri: 'HTTPS://connect.example.test/listener' }),
    ).toMatchObject({
      reason: 'certificate_subject_mismatch',
    });
  });

  it('matches an rfc822Name exactly and never the subject', () => {
    expect(matchSubject(pki.leaf.cert, { sanEmail: 'connect@example.test' }).ok).toBe(true);
    expect(matchSubject(pki.leaf.cert, { sanEmail: 'other@example.test' })).toMatchObject({
      reason: 'certificate_subject_mismatch',
    });
  });

  it('rejects a rule with two members as a policy error', () => {
    const rule = { sanDns: 'connect.example.test', sanIp: '192.0.2.10' } as unknown as {
      sanDns: string;
    };
    expect(matchSubject(pki.leaf.cert, rule)).toMatchObject({
      reason: 'certificate_policy_invalid',
    });
  });
});
