import { KeyUsageFlags } from '@peculiar/x509';

import { createTestPki, issueTestCertificate, type TestPki } from './testing/test-pki.js';
import { createTrustBundle, verifyCertificateChain, type TrustBundle } from './trust-bundle.js';

const DAY_MS = 24 * 60 * 60 * 1000;

function bundleOf(pem: string): TrustBundle {
  const verdict = createTrustBundle(pem);
  if (!verdict.ok) throw new Error(`bundle should build: ${verdict.reason}`);
  return verdict.evidence;
}

describe('trust bundles', () => {
  let pki: TestPki;

  beforeAll(async () => {
    pki = await createTestPki();
  });

  it('builds a bundle from one or more CA certificates', () => {
    expect(bundleOf(pki.root.pem + pki.intermediate.pem).anchors).toHaveLength(2);
  });

  it('refuses an end-entity certificate as a trust anchor', () => {
    expect(createTrustBundle(pki.leaf.pem)).toMatchObject({ reason: 'certificate_policy_invalid' });
  });

  it('refuses text without certificates', () => {
    expect(createTrustBundle('')).toMatchObject({ reason: 'certificate_malformed' });
  });
});

describe('forwarded certificate chain verification', () => {
  let pki: TestPki;
  let other: TestPki;

  beforeAll(async () => {
    pki = await createTestPki();
    other = await createTestPki('Other');
  });

  it('accepts a leaf that chains through its intermediate to the anchor', () => {
    const verdict = verifyCertificateChain(
      pki.leaf.cert,
      [pki.intermediate.cert],
      bundleOf(pki.root.pem),
    );
    expect(verdict.ok).toBe(true);
    expect(verdict.ok && verdict.evidence.chain.map((c) => c.raw)).toEqual([
      pki.leaf.der,
      pki.intermediate.der,
      pki.root.der,
    ]);
  });

  it('accepts intermediates given in any order and ignores unrelated extras', () => {
    const verdict = verifyCertificateChain(
      pki.leaf.cert,
      [other.intermediate.cert, pki.leaf.cert, pki.intermediate.cert],
      bundleOf(pki.root.pem),
    );
    expect(verdict.ok).toBe(true);
  });

  it('rejects a leaf whose intermediate is not forwarded', () => {
    expect(verifyCertificateChain(pki.leaf.cert, [], bundleOf(pki.root.pem))).toMatchObject({
      reason: 'certificate_not_trusted',
    });
  });

  it('rejects a leaf from another PKI even with its own intermediate', () => {
    expect(
      verifyCertificateChain(other.leaf.cert, [other.intermediate.cert], bundleOf(pki.root.pem)),
    ).toMatchObject({ reason: 'certificate_not_trusted' });
  });

  it('rejects a leaf that names the intermediate as issuer but was signed by another key', async () => {
    const impostor = await issueTestCertificate({ subject: 'CN=impostor' });
    const forged = await issueTestCertificate({
      subject: 'CN=connect.example.test, OU=Connect, O=Example Corp, C=US',
      // same issuer name and key identifier as the real intermediate; only the signature differs
      issuer: {
        ...pki.intermediate,
        keys: { publicKey: pki.intermediate.keys.publicKey, privateKey: impostor.keys.privateKey },
      },
    });
    expect(
      verifyCertificateChain(forged.cert, [pki.intermediate.cert], bundleOf(pki.root.pem)),
    ).toMatchObject({ reason: 'certificate_not_trusted' });
  });

  it('rejects a chain through an issuer that is not a CA', async () => {
    const notCa = await issueTestCertificate({ subject: 'CN=Not A CA', issuer: pki.root });
    const leaf = await issueTestCertificate({ subject: 'CN=below-not-ca', issuer: notCa });
    expect(verifyCertificateChain(leaf.cert, [notCa.cert], bundleOf(pki.root.pem))).toMatchObject({
      reason: 'certificate_not_trusted',
    });
  });

  it('rejects a chain through a CA without keyCertSign', async () => {
    const noSign = await issueTestCertificate({
      subject: 'CN=No keyCertSign CA',
      issuer: pki.root,
      ca: true,
      keyUsage: KeyUsageFlags.digitalSignature,
    });
    const leaf = await issueTestCertificate({ subject: 'CN=below-no-sign', issuer: noSign });
    expect(verifyCertificateChain(leaf.cert, [noSign.cert], bundleOf(pki.root.pem))).toMatchObject({
      reason: 'certificate_not_trusted',
    });
  });

  it('rejects a chain longer than the intermediate pathLen allows', async () => {
    const sub = await issueTestCertificate({
      subject: 'CN=Sub CA',
      issuer: pki.intermediate,
      ca: true,
    });
    const leaf = await issueTestCertificate({ subject: 'CN=too-deep', issuer: sub });
    expect(
      verifyCertificateChain(leaf.cert, [sub.cert, pki.intermediate.cert], bundleOf(pki.root.pem)),
    ).toMatchObject({ reason: 'certificate_not_trusted' });
  });

  it('rejects a chain whose intermediate has expired', async () => {
    const now = Date.now();
    const expired = await issueTestCertificate({
      subject: 'CN=Expired Intermediate',
      issuer: pki.root,
      ca: true,
      notBefore: new Date(now - 10 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    });
    const leaf = await issueTestCertificate({ subject: 'CN=under-expired', issuer: expired });
    expect(verifyCertificateChain(leaf.cert, [expired.cert], bundleOf(pki.root.pem))).toMatchObject(
      {
        reason: 'certificate_not_trusted',
      },
    );
  });

  it('reports an expired leaf as certificate_expired', async () => {
    const now = Date.now();
    const leaf = await issueTestCertificate({
      subject: 'CN=expired-leaf',
      issuer: pki.intermediate,
      notBefore: new Date(now - 10 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    });
    expect(
      verifyCertificateChain(leaf.cert, [pki.intermediate.cert], bundleOf(pki.root.pem)),
    ).toMatchObject({
      reason: 'certificate_expired',
    });
  });

  it('reports a leaf that is not yet valid as certificate_not_yet_valid', async () => {
    const now = Date.now();
    const leaf = await issueTestCertificate({
      subject: 'CN=future-leaf',
      issuer: pki.intermediate,
      notBefore: new Date(now + DAY_MS),
      notAfter: new Date(now + 10 * DAY_MS),
    });
    expect(
      verifyCertificateChain(leaf.cert, [pki.intermediate.cert], bundleOf(pki.root.pem)),
    ).toMatchObject({
      reason: 'certificate_not_yet_valid',
    });
  });

  it('rejects a self-signed leaf that is not in the bundle', async () => {
    const selfSigned = await issueTestCertificate({ subject: 'CN=self-signed' });
    expect(verifyCertificateChain(selfSigned.cert, [], bundleOf(pki.root.pem))).toMatchObject({
      reason: 'certificate_not_trusted',
    });
  });
});
