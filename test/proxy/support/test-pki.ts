import { webcrypto } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The subject the test profile requires of the Connect client certificate. */
export const CONNECT_CLIENT_SUBJECT = 'CN=connect.countersign.test, O=Countersign Dev, C=US';

/** One certificate with its key and the PEM files written for it. */
export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** The certificates the proxy test needs, written as PEM files into one directory. */
export interface ProxyTestPki {
  /** Root + intermediate: the profile's trust bundle and the listener's client CA file. */
  readonly caBundleFile: string;
  readonly caBundlePem: string;
  /** localhost / 127.0.0.1 server certificate with the intermediate appended. */
  readonly server: IssuedCertificate;
  /** The genuine Connect client certificate, issued by the intermediate. */
  readonly connectClient: IssuedCertificate;
  /** Same intermediate, another subject. */
  readonly otherSubjectClient: IssuedCertificate;
  /** Issued by a CA the profile does not trust. */
  readonly unrelatedCaClient: IssuedCertificate;
  /** The genuine subject from the trusted intermediate, expired yesterday. */
  readonly expiredClient: IssuedCertificate;
}

interface Authority {
  readonly cert: x509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function keyPem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

async function selfSignedCa(name: string): Promise<Authority> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    signingAlgorithm: SIGNING,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 30 * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function issue(
  issuer: Authority,
  subject: string,
  extensions: x509.Extension[],
  validity = {
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 30 * DAY_MS),
  },
): Promise<{ cert: x509.X509Certificate; keys: webcrypto.CryptoKeyPair }> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    subject,
    issuer: issuer.cert.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: SIGNING,
    ...validity,
    extensions: [
      ...extensions,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
    ],
  });
  return { cert, keys };
}

async function clientCertificate(
  issuer: Authority,
  subject: string,
  dns: string,
  validity?: { notBefore: Date; notAfter: Date },
) {
  const extensions = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: dns }]),
  ];
  return issue(issuer, subject, extensions, validity);
}

async function write(
  dir: string,
  name: string,
  issued: { cert: x509.X509Certificate; keys: webcrypto.CryptoKeyPair },
  chain: readonly x509.X509Certificate[] = [],
): Promise<IssuedCertificate> {
  const certPem = [issued.cert, ...chain].map((cert) => cert.toString('pem')).join('\n') + '\n';
  const privatePem = await keyPem(issued.keys);
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(certFile, certPem);
  await writeFile(keyFile, privatePem);
  await chmod(keyFile, 0o600);
  return { certPem, keyPem: privatePem, certFile, keyFile };
}

/** Creates a root and an intermediate CA, a server certificate and the test client certificates. */
export async function createProxyTestPki(dir: string): Promise<ProxyTestPki> {
  const root = await selfSignedCa('CN=Countersign Proxy Test Root, O=Countersign Test');
  const intermediateIssued = await issue(root, 'CN=Countersign Proxy Test Intermediate', [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ]);
  const intermediate: Authority = intermediateIssued;
  const unrelatedRoot = await selfSignedCa('CN=Unrelated Test Root, O=Somebody Else');

  const serverIssued = await issue(intermediate, 'CN=localhost', [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]),
  ]);

  const caBundlePem =
    [root.cert, intermediate.cert].map((c) => c.toString('pem')).join('\n') + '\n';
  const caBundleFile = join(dir, 'ca-bundle.pem');
  await writeFile(caBundleFile, caBundlePem);

  return {
    caBundleFile,
    caBundlePem,
    server: await write(dir, 'server', serverIssued, [intermediate.cert]),
    connectClient: await write(
      dir,
      'connect-client',
      await clientCertificate(intermediate, CONNECT_CLIENT_SUBJECT, 'connect.countersign.test'),
    ),
    otherSubjectClient: await write(
      dir,
      'other-subject-client',
      await clientCertificate(
        intermediate,
        'CN=other.countersign.test, O=Countersign Dev, C=US',
        'other.countersign.test',
      ),
    ),
    unrelatedCaClient: await write(
      dir,
      'unrelated-ca-client',
      await clientCertificate(unrelatedRoot, CONNECT_CLIENT_SUBJECT, 'connect.countersign.test'),
    ),
    expiredClient: await write(
      dir,
      'expired-client',
      await clientCertificate(intermediate, CONNECT_CLIENT_SUBJECT, 'connect.countersign.test', {
        notBefore: new Date(Date.now() - 30 * DAY_MS),
        notAfter: new Date(Date.now() - DAY_MS),
      }),
    ),
  };
}
