import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { generateDevPki, type DevPkiRole } from '../../../tools/pki/dev-pki.js';

x509.cryptoProvider.set(webcrypto);

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The subject the test profiles require of the Connect client certificate. */
export const CONNECT_SUBJECT = 'CN=connect.countersign.test, O=Countersign Dev, C=US';

/** A certificate chain and its private key, as PEM, plus the leaf's x5t#S256 thumbprint. */
export interface TestCredential {
  readonly certPem: string;
  readonly keyPem: string;
  readonly thumbprint: string;
}

/** The dev PKI as the listener tests use it. */
export interface ListenerTestPki {
  readonly caBundleFile: string;
  readonly caBundlePem: string;
  /** The dev root alone, and the unrelated root alone: narrower per-profile bundles. */
  readonly rootCaFile: string;
  readonly unrelatedRootCaFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly connect: TestCredential;
  /** Same subject and CA as `connect`, another key: DocuSign's certificate after a rotation. */
  readonly connectRotated: TestCredential;
  readonly otherSubject: TestCredential;
  readonly unrelatedCa: TestCredential;
  readonly expired: TestCredential;
  readonly notYetValid: TestCredential;
  readonly selfSigned: TestCredential;
}

/** Issues a second Connect client certificate from the dev intermediate (the rotation case). */
async function issueRotatedConnectCertificate(
  intermediatePem: string,
  intermediateKeyPem: string,
): Promise<TestCredential> {
  const issuer = new x509.X509Certificate(intermediatePem);
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(intermediateKeyPem),
    EC_KEY,
    false,
    ['sign'],
  );
  const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: `01${Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex')}`,
    subject: CONNECT_SUBJECT,
    issuer: issuer.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 30 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'connect.countersign.test' },
      ]),
    ],
  });
  const der = Buffer.from(cert.rawData);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    certPem: `${cert.toString('pem')}\n${intermediatePem}`,
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    thumbprint: createHash('sha256').update(new X509Certificate(der).raw).digest('base64url'),
  };
}

/** Writes the dev PKI into `dir` (tools/pki) and loads what the listener tests present. */
export async function createListenerTestPki(dir: string): Promise<ListenerTestPki> {
  const manifest = await generateDevPki({ outDir: join(dir, 'pki') });
  const path = (name: string) => join(manifest.outDir, name);
  const text = (name: string) => readFile(path(name), 'utf8');
  const credential = async (role: DevPkiRole): Promise<TestCredential> => {
    const entry = manifest.certificates[role];
    if (entry.privateKey === undefined) throw new Error(`dev PKI ${role} has no private key`);
    return {
      certPem: await text(entry.chain ?? entry.certificate),
      keyPem: await text(entry.privateKey),
      thumbprint: entry.thumbprint,
    };
  };

  const intermediate = manifest.certificates['intermediate-ca'];
  const listener = manifest.certificates.listener;
  return {
    caBundleFile: path(manifest.caBundle),
    caBundlePem: await text(manifest.caBundle),
    rootCaFile: path(manifest.certificates['root-ca'].certificate),
    unrelatedRootCaFile: path(manifest.certificates['unrelated-root-ca'].certificate),
    serverCertFile: path(listener.chain ?? listener.certificate),
    serverKeyFile: path(listener.privateKey ?? ''),
    connect: await credential('connect-client'),
    connectRotated: await issueRotatedConnectCertificate(
      await text(intermediate.certificate),
      await text(intermediate.privateKey ?? ''),
    ),
    otherSubject: await credential('other-subject-client'),
    unrelatedCa: await credential('unrelated-client'),
    expired: await credential('expired-client'),
    notYetValid: await credential('not-yet-valid-client'),
    selfSigned: await credential('self-signed-client'),
  };
}
