import { X509Certificate, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as x509 from '@peculiar/x509';

import { generateDevPki, type DevPkiRole } from '../../../tools/pki/dev-pki.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate with its PEM key, ready for a TLS client or server. */
export interface Issued {
  readonly cert: X509Certificate;
  readonly certPem: string;
  readonly keyPem: string;
  readonly subject: string;
}

interface IssuedWithKeys extends Issued {
  readonly keys: webcrypto.CryptoKeyPair;
}

interface IssueOptions {
  readonly subject: string;
  readonly issuer?: IssuedWithKeys;
  readonly ca?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly sans?: x509.JsonGeneralName[];
  readonly usage?: 'server' | 'client';
}

/** Issues a P-256 certificate, signed by `issuer` or self-signed. */
export async function issue(options: IssueOptions): Promise<IssuedWithKeys> {
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
  /** The dev PKI's CA bundle (root + intermediate): AUTH_CLIENT_CA_FILE. */
  readonly clientCaBundlePem: string;
  /** The dev root CA, which clients trust for the server certificate. */
  readonly serverCaPem: string;
  /** The auth-server certificate chain (SANs localhost, 127.0.0.1, ::1). */
  readonly server: Issued;
  /** The Connect client: CN=connect.countersign.test, presented with its intermediate. */
  readonly connect: Issued;
  readonly otherSubject: Issued;
  readonly expired: Issued;
  readonly notYetValid: Issued;
  /** The Connect subject, from a CA the server does not trust. */
  readonly untrusted: Issued;
  /** The Connect subject, self-signed. */
  readonly selfSigned: Issued;
  /** Another self-signed certificate with the same subject (never registered). */
  readonly otherSelfSigned: Issued;
  /** Where the dev PKI was written; removed by `removeAuthTestPki`. */
  readonly dir: string;
}

/** Builds the e2e PKI with the dev PKI tool (tools/pki) in a temp directory. */
export async function createAuthTestPki(): Promise<AuthTestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-auth-pki-'));
  const manifest = await generateDevPki({ outDir: dir });
  const read = (name: string) => readFileSync(join(manifest.outDir, name), 'utf8');
  const load = (role: DevPkiRole, present: 'certificate' | 'chain' = 'certificate'): Issued => {
    const entry = manifest.certificates[role];
    const file = present === 'chain' && entry.chain !== undefined ? entry.chain : entry.certificate;
    if (entry.privateKey === undefined) throw new Error(`${role} has no private key`);
    return {
      cert: new X509Certificate(read(entry.certificate)),
      certPem: read(file),
      keyPem: read(entry.privateKey),
      subject: entry.subject,
    };
  };
  return {
    dir,
    clientCaBundlePem: read(manifest.caBundle),
    serverCaPem: read(manifest.certificates['root-ca'].certificate),
    server: load('auth-server', 'chain'),
    connect: load('connect-client', 'chain'),
    otherSubject: load('other-subject-client'),
    expired: load('expired-client'),
    notYetValid: load('not-yet-valid-client'),
    untrusted: load('unrelated-client'),
    selfSigned: load('self-signed-client'),
    otherSelfSigned: await issue({ subject: manifest.certificates['self-signed-client'].subject }),
  };
}

/** Deletes the temp directory of a test PKI. */
export function removeAuthTestPki(pki: AuthTestPki | undefined): void {
  if (pki !== undefined) rmSync(pki.dir, { recursive: true, force: true });
}

/** The JWK (with x5c) that registers a self-signed certificate for a client. */
export function jwkWithX5c(issued: Issued): Record<string, unknown> {
  return {
    ...issued.cert.publicKey.export({ format: 'jwk' }),
    x5c: [issued.cert.raw.toString('base64')],
  };
}
