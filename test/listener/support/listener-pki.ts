import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The subject the test profiles require of the Connect client certificate. */
export const CONNECT_SUBJECT = 'CN=connect.countersign.test, O=Countersign Dev, C=US';

/** A certificate and its private key, as PEM, plus its x5t#S256 thumbprint. */
export interface TestCredential {
  readonly certPem: string;
  readonly keyPem: string;
  readonly thumbprint: string;
}

/** The certificates the listener tests use, with the CA bundle files written to a directory. */
export interface ListenerTestPki {
  readonly caBundleFile: string;
  readonly caBundlePem: string;
  /** Only the intermediate: a profile-level bundle narrower than the listener's. */
  readonly intermediateFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly connect: TestCredential;
  /** Same subject as `connect`, another key: DocuSign's certificate after a rotation. */
  readonly connectRotated: TestCredential;
  readonly otherSubject: TestCredential;
  readonly unrelatedCa: TestCredential;
  readonly expired: TestCredential;
  readonly selfSigned: TestCredential;
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

function serial(): string {
  return `01${Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex')}`;
}

async function authority(name: string, issuer?: Authority): Promise<Authority> {
  const keys = await newKeys();
  const now = Date.now();
  const extensions = [
    new x509.BasicConstraintsExtension(true, issuer ? 0 : 1, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: name,
    issuer: issuer ? issuer.cert.subject : name,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: (issuer ?? { keys }).keys.privateKey,
    signingAlgorithm: SIGNING,
    extensions,
  });
  return { cert, keys };
}

async function leaf(
  subject: string,
  issuer: Authority | undefined,
  options: { server?: boolean; notBefore?: Date; notAfter?: Date; dns?: string } = {},
): Promise<TestCredential & { chainPem: string }> {
  const keys = await newKeys();
  const now = Date.now();
  const sans: x509.JsonGeneralName[] = options.server
    ? [
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]
    : [{ type: 'dns', value: options.dns ?? 'connect.countersign.test' }];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: issuer ? issuer.cert.subject : subject,
    notBefore: options.notBefore ?? new Date(now - DAY_MS),
    notAfter: options.notAfter ?? new Date(now + 30 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: (issuer ?? { keys }).keys.privateKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        options.server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(sans),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = cert.toString('pem');
  return {
    certPem: issuer ? `${certPem}\n${issuer.cert.toString('pem')}\n` : certPem,
    chainPem: certPem,
    keyPem: await keyPem(keys),
    thumbprint: createHash('sha256')
      .update(new X509Certificate(Buffer.from(cert.rawData)).raw)
      .digest('base64url'),
  };
}

/** Issues a root, an intermediate and every client certificate the listener tests need. */
export async function createListenerTestPki(dir: string): Promise<ListenerTestPki> {
  const root = await authority('CN=Countersign Test Root CA, O=Countersign Dev');
  const intermediate = await authority(
    'CN=Countersign Test Intermediate CA, O=Countersign Dev',
    root,
  );
  const unrelatedRoot = await authority('CN=Unrelated Root CA, O=Elsewhere');
  const now = Date.now();

  const server = await leaf('CN=localhost, O=Countersign Dev', intermediate, { server: true });
  const caBundlePem = `${root.cert.toString('pem')}\n${intermediate.cert.toString('pem')}\n`;
  const files = {
    caBundleFile: join(dir, 'ca-bundle.pem'),
    intermediateFile: join(dir, 'intermediate.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server-key.pem'),
  };
  await writeFile(files.caBundleFile, caBundlePem);
  await writeFile(files.intermediateFile, intermediate.cert.toString('pem'));
  await writeFile(files.serverCertFile, server.certPem);
  await writeFile(files.serverKeyFile, server.keyPem, { mode: 0o600 });

  return {
    ...files,
    caBundlePem,
    connect: await leaf(CONNECT_SUBJECT, intermediate),
    connectRotated: await leaf(CONNECT_SUBJECT, intermediate),
    otherSubject: await leaf('CN=someone-else.test, O=Elsewhere, C=US', intermediate, {
      dns: 'someone-else.test',
    }),
    unrelatedCa: await leaf(CONNECT_SUBJECT, unrelatedRoot),
    expired: await leaf(CONNECT_SUBJECT, intermediate, {
      notBefore: new Date(now - 30 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    }),
    selfSigned: await leaf(CONNECT_SUBJECT, undefined),
  };
}
