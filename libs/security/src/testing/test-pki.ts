import { KeyObject, X509Certificate, webcrypto } from 'node:crypto';

import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_P256: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};

const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate made for a test, with its key pair so it can issue further certificates. */
export interface TestCertificate {
  readonly cert: X509Certificate;
  readonly pem: string;
  readonly der: Buffer;
  readonly keys: CryptoKeyPair;
  readonly subject: string;
}

/** What a test certificate should say; the defaults make a valid end-entity certificate. */
export interface TestCertificateOptions {
  readonly subject: string;
  readonly issuer?: TestCertificate;
  readonly ca?: boolean;
  readonly pathLength?: number;
  readonly keyUsage?: x509.KeyUsageFlags;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly sans?: readonly x509.JsonGeneralName[];
  readonly omitBasicConstraints?: boolean;
}

/** Issues a P-256 certificate signed by `issuer`, or self-signed when no issuer is given. */
export async function issueTestCertificate(
  options: TestCertificateOptions,
): Promise<TestCertificate> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const now = Date.now();
  const extensions: x509.Extension[] = [];
  if (!options.omitBasicConstraints) {
    extensions.push(
      new x509.BasicConstraintsExtension(options.ca ?? false, options.pathLength, true),
    );
  }
  if (options.keyUsage !== undefined) {
    extensions.push(new x509.KeyUsagesExtension(options.keyUsage, true));
  } else if (options.ca) {
    extensions.push(
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign),
    );
  }
  if (options.sans !== undefined) {
    extensions.push(new x509.SubjectAlternativeNameExtension([...options.sans]));
  }
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  if (options.issuer !== undefined) {
    extensions.push(
      await x509.AuthorityKeyIdentifierExtension.create(options.issuer.keys.publicKey),
    );
  }

  const issuerKeys = options.issuer?.keys ?? keys;
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: webcrypto
      .getRandomValues(new Uint8Array(8))
      .reduce((hex, byte) => hex + byte.toString(16).padStart(2, '0'), '01'),
    subject: options.subject,
    issuer: options.issuer?.subject ?? options.subject,
    notBefore: options.notBefore ?? new Date(now - DAY_MS),
    notAfter: options.notAfter ?? new Date(now + 30 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: issuerKeys.privateKey,
    signingAlgorithm: EC_P256,
    extensions,
  });

  const der = Buffer.from(generated.rawData);
  const cert = new X509Certificate(der);
  return { cert, der, pem: generated.toString('pem'), keys, subject: options.subject };
}

/** A root CA, an intermediate CA under it, and a leaf under the intermediate. */
export interface TestPki {
  readonly root: TestCertificate;
  readonly intermediate: TestCertificate;
  readonly leaf: TestCertificate;
}

/** Builds a three-level PKI whose leaf carries DNS, URI, IPv4, IPv6 and email SANs. */
export async function createTestPki(prefix = 'Countersign Test'): Promise<TestPki> {
  const root = await issueTestCertificate({
    subject: `CN=${prefix} Root CA, O=Countersign`,
    ca: true,
  });
  const intermediate = await issueTestCertificate({
    subject: `CN=${prefix} Intermediate CA, O=Countersign`,
    issuer: root,
    ca: true,
    pathLength: 0,
  });
  const leaf = await issueTestCertificate({
    subject: `CN=connect.example.test, OU=Connect, O=Example Corp, C=US`,
    issuer: intermediate,
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    sans: [
      { type: 'dns', value: 'connect.example.test' },
      { type: 'url', value: 'https://connect.example.test/listener' },
      { type: 'ip', value: '192.0.2.10' },
      { type: 'ip', value: '2001:db8::1' },
      { type: 'email', value: 'connect@example.test' },
    ],
  });
  return { root, intermediate, leaf };
}

/** The certificate's private key as PKCS#8 PEM, for TLS servers in tests. */
export function privateKeyPem(certificate: TestCertificate): Promise<string> {
  // node:crypto writes the PEM armour; the key itself is generated per test run
  const pem = KeyObject.from(certificate.keys.privateKey).export({ format: 'pem', type: 'pkcs8' });
  return Promise.resolve(pem as string);
}
