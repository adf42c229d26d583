import { X509Certificate, webcrypto } from 'node:crypto';

import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate with its PEM key, ready for a TLS client or server. */
export interface Issued {
  readonly cert: X509Certificate;
  readonly certPem: string;
  readonly keyPem: string;
  readonly subject: string;
  readonly keys: webcrypto.CryptoKeyPair;
}

interface IssueOptions {
  readonly subject: string;
  readonly issuer?: Issued;
  readonly ca?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly sans?: x509.JsonGeneralName[];
  readonly usage?: 'server' | 'client';
}

/** Issues a P-256 certificate, signed by `issuer` or self-signed. */
export async function issue(options: IssueOptions): Promise<Issued> {
  const keys = await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(options.ca ?? false, undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (options.ca) {
    extensions.push(
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign),
    );
  } else {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
    extensions.push(
      new x509.ExtendedKeyUsageExtension([
        options.usage === 'server'
          ? x509.ExtendedKeyUsage.serverAuth
          : x509.ExtendedKeyUsage.clientAuth,
      ]),
    );
  }
  if (options.sans !== undefined) {
    extensions.push(new x509.SubjectAlternativeNameExtension(options.sans));
  }
  if (options.issuer !== undefined) {
    extensions.push(
      await x509.AuthorityKeyIdentifierExtension.create(options.issuer.keys.publicKey),
    );
  }

  const now = Date.now();
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
      .toString('hex')
      .replace(/^./, '1'),
    subject: options.subject,
    issuer: options.issuer?.subject ?? options.subject,
    notBefore: options.notBefore ?? new Date(now - DAY_MS),
    notAfter: options.notAfter ?? new Date(now + 30 * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: (options.issuer?.keys ?? keys).privateKey,
    signingAlgorithm: ECDSA_P256,
    extensions,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${(pkcs8.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END PRIVATE KEY-----\n`;
  return {
    cert: new X509Certificate(Buffer.from(generated.rawData)),
    certPem: generated.toString('pem'),
    keyPem,
    subject: options.subject,
    keys,
  };
}

/** Every certificate the auth-server e2e tests need. */
export interface AuthTestPki {
  readonly clientCa: Issued;
  readonly serverCa: Issued;
  readonly server: Issued;
  /** Issued by the client CA: CN=connect.countersign.test, SAN DNS connect.countersign.test. */
  readonly connect: Issued;
  readonly otherSubject: Issued;
  readonly expired: Issued;
  readonly untrustedCa: Issued;
  /** Same subject as `connect`, but from a CA the server does not trust. */
  readonly untrusted: Issued;
  readonly selfSigned: Issued;
  readonly otherSelfSigned: Issued;
}

/** Builds the e2e PKI in memory. */
export async function createAuthTestPki(): Promise<AuthTestPki> {
  const clientCa = await issue({ subject: 'CN=Test Client CA, O=Countersign Test', ca: true });
  const serverCa = await issue({ subject: 'CN=Test Server CA, O=Countersign Test', ca: true });
  const untrustedCa = await issue({ subject: 'CN=Unrelated CA, O=Elsewhere', ca: true });
  const connectSubject = 'CN=connect.countersign.test, O=Countersign Dev, C=US';
  const connectSans: x509.JsonGeneralName[] = [{ type: 'dns', value: 'connect.countersign.test' }];
  return {
    clientCa,
    serverCa,
    untrustedCa,
    server: await issue({
      subject: 'CN=localhost',
      issuer: serverCa,
      usage: 'server',
      sans: [
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ],
    }),
    connect: await issue({ subject: connectSubject, issuer: clientCa, sans: connectSans }),
    otherSubject: await issue({
      subject: 'CN=someone-else.countersign.test, O=Countersign Dev, C=US',
      issuer: clientCa,
      sans: [{ type: 'dns', value: 'someone-else.countersign.test' }],
    }),
    expired: await issue({
      subject: connectSubject,
      issuer: clientCa,
      sans: connectSans,
      notBefore: new Date(Date.now() - 60 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    }),
    untrusted: await issue({ subject: connectSubject, issuer: untrustedCa, sans: connectSans }),
    selfSigned: await issue({ subject: 'CN=self-signed-client' }),
    otherSelfSigned: await issue({ subject: 'CN=self-signed-client' }),
  };
}

/** The JWK (with x5c) that registers a self-signed certificate for a client. */
export async function jwkWithX5c(issued: Issued): Promise<Record<string, unknown>> {
  const jwk = await webcrypto.subtle.exportKey('jwk', issued.keys.publicKey);
  return {
    kty: jwk.kty,
    crv: jwk.crv,
    x: jwk.x,
    y: jwk.y,
    x5c: [issued.cert.raw.toString('base64')],
  };
}
