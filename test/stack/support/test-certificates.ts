import { webcrypto } from 'node:crypto';

import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 86_400_000;

/** A PEM certificate and its PKCS#8 PEM key, made for one test run. */
export interface PemIdentity {
  readonly cert: string;
  readonly key: string;
}

/** A CA, a server certificate for localhost, Connect's client certificate and an attacker's. */
export interface TestCertificates {
  readonly ca: string;
  readonly server: PemIdentity;
  readonly client: PemIdentity;
  readonly attacker: PemIdentity;
}

async function keyPem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

async function issue(
  subject: string,
  issuer: { name: string; keys: webcrypto.CryptoKeyPair } | undefined,
  extensions: x509.Extension[],
): Promise<{ cert: x509.X509Certificate; keys: webcrypto.CryptoKeyPair }> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    subject,
    issuer: issuer?.name ?? subject,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: (issuer?.keys ?? keys).privateKey,
    extensions,
  });
  return { cert, keys };
}

/** Generates fresh certificates with @peculiar/x509 (ECDSA P-256, valid for a day). */
export async function createTestCertificates(): Promise<TestCertificates> {
  const caName = 'CN=Simulator Test CA';
  const ca = await issue(caName, undefined, [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ]);
  const issuer = { name: caName, keys: ca.keys };
  const leaf = async (subject: string, usage: string, names: x509.JsonGeneralName[]) => {
    const made = await issue(subject, issuer, [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([usage]),
      new x509.SubjectAlternativeNameExtension(names),
    ]);
    return { cert: made.cert.toString('pem'), key: await keyPem(made.keys) };
  };
  return {
    ca: ca.cert.toString('pem'),
    server: await leaf('CN=localhost', x509.ExtendedKeyUsage.serverAuth, [
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]),
    client: await leaf('CN=connect.countersign.test', x509.ExtendedKeyUsage.clientAuth, [
      { type: 'dns', value: 'connect.countersign.test' },
    ]),
    attacker: await leaf('CN=attacker.example.test', x509.ExtendedKeyUsage.clientAuth, [
      { type: 'dns', value: 'attacker.example.test' },
    ]),
  };
}
