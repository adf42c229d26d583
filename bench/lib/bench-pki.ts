import 'reflect-metadata';

import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The key type of every certificate of one bench PKI. */
export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048';

/** PEM files of a small PKI: a CA, a server certificate and two client certificates. */
export interface BenchPki {
  readonly algorithm: KeyAlgorithm;
  readonly dir: string;
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** x5t#S256 of the Connect client certificate: what tokens are bound to and pins name. */
  readonly clientThumbprint: string;
  readonly clientSubject: string;
  /** A second client of the same CA, for the refusal probes (token bound to another cert). */
  readonly otherClientCertFile: string;
  readonly otherClientKeyFile: string;
  readonly otherClientThumbprint: string;
}

interface Issued {
  readonly pem: string;
  readonly keyPem: string;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly subject: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function keyParams(
  algorithm: KeyAlgorithm,
): webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams {
  return algorithm === 'ecdsa-p256'
    ? { name: 'ECDSA', namedCurve: 'P-256' }
    : {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
}

function signingParams(algorithm: KeyAlgorithm): webcrypto.EcdsaParams | webcrypto.Algorithm {
  return algorithm === 'ecdsa-p256'
    ? { name: 'ECDSA', hash: 'SHA-256' }
    : { name: 'RSASSA-PKCS1-v1_5' };
}

async function issue(
  algorithm: KeyAlgorithm,
  subject: string,
  extensions: x509.Extension[],
  issuer?: Issued,
): Promise<Issued> {
  const keys = await webcrypto.subtle.generateKey(keyParams(algorithm), true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    subject,
    issuer: issuer?.subject ?? subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 7 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: (issuer?.keys ?? keys).privateKey,
    signingAlgorithm: { ...keyParams(algorithm), ...signingParams(algorithm) },
    extensions: [
      ...extensions,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...(issuer ? [await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey)] : []),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return { pem: cert.toString('pem'), keyPem, keys, subject };
}

function leafExtensions(
  usage: 'server' | 'client',
  sans: x509.JsonGeneralName[],
): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([
      usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
    new x509.SubjectAlternativeNameExtension(sans),
  ];
}

function thumbprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');
}

/**
 * Generates the certificates a benchmark needs into `dir`. Both sides of a benchmark use the same
 * files, so the TLS cost is the same on both; the algorithm is a parameter for scenario 3.
 */
export async function createBenchPki(dir: string, algorithm: KeyAlgorithm): Promise<BenchPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = await issue(algorithm, 'CN=Countersign Bench CA, O=Countersign Bench', [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ]);
  const server = await issue(
    algorithm,
    'CN=localhost, O=Countersign Bench',
    leafExtensions('server', [
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
    ]),
    ca,
  );
  const clientSubject = 'CN=connect.bench.test, O=Countersign Bench, C=US';
  const client = await issue(
    algorithm,
    clientSubject,
    leafExtensions('client', [{ type: 'dns', value: 'connect.bench.test' }]),
    ca,
  );
  const other = await issue(
    algorithm,
    'CN=other.bench.test, O=Countersign Bench, C=US',
    leafExtensions('client', [{ type: 'dns', value: 'other.bench.test' }]),
    ca,
  );

  const file = (name: string): string => join(dir, name);
  const writes: [string, string, number][] = [
    ['ca.pem', ca.pem, 0o644],
    ['server.pem', `${server.pem}\n`, 0o644],
    ['server-key.pem', server.keyPem, 0o600],
    ['client.pem', client.pem, 0o644],
    ['client-key.pem', client.keyPem, 0o600],
    ['other-client.pem', other.pem, 0o644],
    ['other-client-key.pem', other.keyPem, 0o600],
  ];
  for (const [name, content, mode] of writes) {
    await writeFile(file(name), content, { mode });
  }
  return {
    algorithm,
    dir,
    caFile: file('ca.pem'),
    serverCertFile: file('server.pem'),
    serverKeyFile: file('server-key.pem'),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client-key.pem'),
    clientThumbprint: thumbprint(client.pem),
    clientSubject,
    otherClientCertFile: file('other-client.pem'),
    otherClientKeyFile: file('other-client-key.pem'),
    otherClientThumbprint: thumbprint(other.pem),
  };
}
