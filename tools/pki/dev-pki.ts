import { createHash, webcrypto } from 'node:crypto';
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Key algorithms the dev PKI can issue with. */
export const DEV_PKI_ALGORITHMS = ['ecdsa-p256', 'rsa-2048'] as const;
export type DevPkiAlgorithm = (typeof DEV_PKI_ALGORITHMS)[number];

/** Every certificate the dev PKI issues, by the role it plays. */
export type DevPkiRole =
  | 'root-ca'
  | 'intermediate-ca'
  | 'auth-server'
  | 'listener'
  | 'connect-client'
  | 'unrelated-root-ca'
  | 'unrelated-client'
  | 'expired-client'
  | 'not-yet-valid-client'
  | 'other-subject-client'
  | 'self-signed-client';

export interface GenerateDevPkiOptions {
  readonly outDir: string;
  /** Overwrite files that already exist; without it nothing is written when any exists. */
  readonly force?: boolean;
  readonly algorithm?: DevPkiAlgorithm;
}

/** One certificate: file names are relative to the manifest's directory. */
export interface DevPkiCertificate {
  readonly role: DevPkiRole;
  readonly purpose: string;
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  /** RFC 8705 `x5t#S256`: base64url (no padding) of SHA-256 over the DER certificate. */
  readonly thumbprint: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly certificate: string;
  readonly privateKey?: string;
  /** Leaf then intermediate, for a server or client to present. */
  readonly chain?: string;
}

/** One written file and why it exists. */
export interface DevPkiFile {
  readonly path: string;
  readonly role: DevPkiRole | 'ca-bundle' | 'manifest';
  readonly kind: 'certificate' | 'private-key' | 'chain' | 'bundle' | 'manifest';
  readonly purpose: string;
}

/** What `manifest.json` holds; `outDir` is where the files are (absolute). */
export interface DevPkiManifest {
  readonly version: 1;
  readonly algorithm: DevPkiAlgorithm;
  readonly generatedAt: string;
  readonly outDir: string;
  readonly caBundle: string;
  readonly certificates: Readonly<Record<DevPkiRole, DevPkiCertificate>>;
  readonly files: readonly DevPkiFile[];
}

/** Thrown before anything is written when files exist and `force` is not set. */
export class DevPkiFilesExistError extends Error {
  constructor(readonly existing: readonly string[]) {
    const shown = existing.slice(0, 3).join(', ') + (existing.length > 3 ? ', ...' : '');
    super(
      `refusing to overwrite ${existing.length} existing file(s) (${shown}); ` +
        'pass --force to replace them',
    );
    this.name = 'DevPkiFilesExistError';
  }
}

const ORGANIZATION = 'O=Countersign Dev,C=US';
const CONNECT_SUBJECT = `CN=connect.countersign.test,${ORGANIZATION}`;
const SERVER_NAMES: readonly x509.JsonGeneralName[] = [
  { type: 'dns', value: 'localhost' },
  { type: 'ip', value: '127.0.0.1' },
  { type: 'ip', value: '::1' },
];

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

interface Issued {
  readonly cert: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

interface CertificateSpec {
  readonly role: DevPkiRole;
  readonly purpose: string;
  readonly subject: string;
  readonly issuer?: Issued;
  readonly ca?: { readonly pathLength: number };
  readonly serverNames?: readonly x509.JsonGeneralName[];
  readonly usage?: x509.ExtendedKeyUsage;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly writeKey: boolean;
  readonly writeChain: boolean;
}

/**
 * Writes a development PKI into `outDir`: a root and an intermediate CA, server certificates for
 * the auth-server and the listener, the Connect client certificate, and client certificates that
 * must be refused (unrelated CA, expired, not yet valid, other subject, self-signed), plus
 * `ca-bundle.pem` and `manifest.json`. Private keys are PKCS#8 PEM, mode 0600.
 */
export async function generateDevPki(options: GenerateDevPkiOptions): Promise<DevPkiManifest> {
  const outDir = resolve(options.outDir);
  const algorithm = options.algorithm ?? 'ecdsa-p256';
  if (!DEV_PKI_ALGORITHMS.includes(algorithm)) {
    throw new Error(
      `unknown algorithm ${String(algorithm)}; use ${DEV_PKI_ALGORITHMS.join(' or ')}`,
    );
  }
  const now = Date.now();

  const specs = certificateSpecs(now);
  const files = plannedFiles(specs);
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  if (options.force !== true) {
    const existing = await existingFiles(outDir, files);
    if (existing.length > 0) throw new DevPkiFilesExistError(existing);
  }

  // issue in dependency order: every issuer appears before the certificates it signs
  const issued = new Map<DevPkiRole, Issued>();
  const issuerOf: Partial<Record<DevPkiRole, DevPkiRole>> = {
    'intermediate-ca': 'root-ca',
    'auth-server': 'intermediate-ca',
    listener: 'intermediate-ca',
    'connect-client': 'intermediate-ca',
    'unrelated-client': 'unrelated-root-ca',
    'expired-client': 'intermediate-ca',
    'not-yet-valid-client': 'intermediate-ca',
    'other-subject-client': 'intermediate-ca',
  };
  for (const spec of specs) {
    const issuerRole = issuerOf[spec.role];
    const issuer = issuerRole === undefined ? undefined : issued.get(issuerRole);
    issued.set(spec.role, await issue({ ...spec, issuer }, algorithm));
  }

  const intermediatePem = pemOf(issued, 'intermediate-ca');
  const writes: Array<{ name: string; contents: string; secret: boolean }> = [
    {
      name: 'ca-bundle.pem',
      contents: pemOf(issued, 'root-ca') + intermediatePem,
      secret: false,
    },
  ];
  const certificates = {} as Record<DevPkiRole, DevPkiCertificate>;
  for (const spec of specs) {
    const { cert, keys } = issued.get(spec.role)!;
    const names = fileNames(spec);
    writes.push({ name: names.certificate, contents: cert.toString('pem') + '\n', secret: false });
    if (names.privateKey !== undefined) {
      writes.push({ name: names.privateKey, contents: await privateKeyPem(keys), secret: true });
    }
    if (names.chain !== undefined) {
      writes.push({
        name: names.chain,
        contents: cert.toString('pem') + '\n' + intermediatePem,
        secret: false,
      });
    }
    certificates[spec.role] = {
      role: spec.role,
      purpose: spec.purpose,
      subject: cert.subject,
      issuer: cert.issuer,
      serialNumber: cert.serialNumber,
      thumbprint: createHash('sha256').update(Buffer.from(cert.rawData)).digest('base64url'),
      notBefore: cert.notBefore.toISOString(),
      notAfter: cert.notAfter.toISOString(),
      ...names,
    };
  }

  const manifest: DevPkiManifest = {
    version: 1,
    algorithm,
    generatedAt: new Date(now).toISOString(),
    outDir,
    caBundle: 'ca-bundle.pem',
    certificates,
    files,
  };
  writes.push({
    name: 'manifest.json',
    contents: JSON.stringify({ ...manifest, outDir: '.' }, null, 2) + '\n',
    secret: false,
  });

  for (const { name, contents, secret } of writes) {
    const path = join(outDir, name);
    const mode = secret ? 0o600 : 0o644;
    await writeFile(path, contents, { mode, flag: options.force === true ? 'w' : 'wx' });
    await chmod(path, mode);
  }
  return manifest;
}

function certificateSpecs(now: number): CertificateSpec[] {
  const current = { notBefore: new Date(now - HOUR_MS), notAfter: new Date(now + 365 * DAY_MS) };
  const client = { usage: x509.ExtendedKeyUsage.clientAuth, writeKey: true, writeChain: false };
  const server = { usage: x509.ExtendedKeyUsage.serverAuth, writeKey: true, writeChain: true };
  return [
    {
      role: 'root-ca',
      purpose: 'dev root CA (trust anchor)',
      subject: `CN=Countersign Dev Root CA,${ORGANIZATION}`,
      ca: { pathLength: 1 },
      notBefore: current.notBefore,
      notAfter: new Date(now + 10 * 365 * DAY_MS),
      writeKey: true,
      writeChain: false,
    },
    {
      role: 'intermediate-ca',
      purpose: 'dev intermediate CA, signed by the root; issues every dev leaf',
      subject: `CN=Countersign Dev Intermediate CA,${ORGANIZATION}`,
      ca: { pathLength: 0 },
      notBefore: current.notBefore,
      notAfter: new Date(now + 5 * 365 * DAY_MS),
      writeKey: true,
      writeChain: false,
    },
    {
      role: 'auth-server',
      purpose: 'TLS server certificate of the auth-server',
      subject: `CN=auth-server,${ORGANIZATION}`,
      serverNames: [...SERVER_NAMES, { type: 'dns', value: 'auth-server' }],
      ...server,
      ...current,
    },
    {
      role: 'listener',
      purpose: 'TLS server certificate of the listener',
      subject: `CN=listener,${ORGANIZATION}`,
      serverNames: [...SERVER_NAMES, { type: 'dns', value: 'listener' }],
      ...server,
      ...current,
    },
    {
      role: 'connect-client',
      purpose: 'the Connect client certificate (what DocuSign presents)',
      subject: CONNECT_SUBJECT,
      serverNames: [{ type: 'dns', value: 'connect.countersign.test' }],
      ...client,
      writeChain: true,
      ...current,
    },
    {
      role: 'unrelated-root-ca',
      purpose: 'test only: a root CA the stack does not trust',
      subject: `CN=Unrelated Dev Root CA,O=Elsewhere Dev,C=US`,
      ca: { pathLength: 0 },
      ...current,
      writeKey: false,
      writeChain: false,
    },
    {
      role: 'unrelated-client',
      purpose: 'test only: the Connect subject, issued by the unrelated CA (must be refused)',
      subject: CONNECT_SUBJECT,
      ...client,
      ...current,
    },
    {
      role: 'expired-client',
      purpose: 'test only: the Connect subject, expired yesterday (must be refused)',
      subject: CONNECT_SUBJECT,
      ...client,
      notBefore: new Date(now - 30 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    },
    {
      role: 'not-yet-valid-client',
      purpose: 'test only: the Connect subject, valid from 30 days on (must be refused)',
      subject: CONNECT_SUBJECT,
      ...client,
      notBefore: new Date(now + 30 * DAY_MS),
      notAfter: new Date(now + 60 * DAY_MS),
    },
    {
      role: 'other-subject-client',
      purpose: 'test only: trusted chain, another subject (must fail a subject pin)',
      subject: `CN=impostor.countersign.test,${ORGANIZATION}`,
      serverNames: [{ type: 'dns', value: 'impostor.countersign.test' }],
      ...client,
      ...current,
    },
    {
      role: 'self-signed-client',
      purpose: 'test only: the Connect subject, self-signed (must be refused)',
      subject: CONNECT_SUBJECT,
      ...client,
      ...current,
    },
  ];
}

function fileNames(
  spec: CertificateSpec,
): Pick<DevPkiCertificate, 'certificate' | 'privateKey' | 'chain'> {
  return {
    certificate: `${spec.role}.pem`,
    ...(spec.writeKey && { privateKey: `${spec.role}.key.pem` }),
    ...(spec.writeChain && {
      chain:
        spec.role === 'connect-client' ? `${spec.role}.fullchain.pem` : `${spec.role}.chain.pem`,
    }),
  };
}

function plannedFiles(specs: readonly CertificateSpec[]): DevPkiFile[] {
  const files: DevPkiFile[] = [
    {
      path: 'ca-bundle.pem',
      role: 'ca-bundle',
      kind: 'bundle',
      purpose: 'root + intermediate: the trust store for client and server certificates',
    },
  ];
  for (const spec of specs) {
    const names = fileNames(spec);
    files.push({
      path: names.certificate,
      role: spec.role,
      kind: 'certificate',
      purpose: spec.purpose,
    });
    if (names.privateKey !== undefined) {
      files.push({
        path: names.privateKey,
        role: spec.role,
        kind: 'private-key',
        purpose: `private key (PKCS#8) of ${spec.role}.pem`,
      });
    }
    if (names.chain !== undefined) {
      files.push({
        path: names.chain,
        role: spec.role,
        kind: 'chain',
        purpose: `${spec.role}.pem then the intermediate, to present in TLS`,
      });
    }
  }
  files.push({
    path: 'manifest.json',
    role: 'manifest',
    kind: 'manifest',
    purpose: 'this list: role, subject, x5t#S256 thumbprint and validity of every certificate',
  });
  return files;
}

async function existingFiles(outDir: string, files: readonly DevPkiFile[]): Promise<string[]> {
  const existing: string[] = [];
  for (const file of files) {
    const found = await stat(join(outDir, file.path)).then(
      () => true,
      () => false,
    );
    if (found) existing.push(file.path);
  }
  return existing;
}

async function issue(spec: CertificateSpec, algorithm: DevPkiAlgorithm): Promise<Issued> {
  const keys = await generateKeys(algorithm);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(spec.ca !== undefined, spec.ca?.pathLength, true),
    new x509.KeyUsagesExtension(keyUsage(spec, algorithm), true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (spec.issuer !== undefined) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(spec.issuer.keys.publicKey));
  }
  if (spec.usage !== undefined) {
    extensions.push(new x509.ExtendedKeyUsageExtension([spec.usage]));
  }
  if (spec.serverNames !== undefined) {
    extensions.push(new x509.SubjectAlternativeNameExtension([...spec.serverNames]));
  }

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: spec.subject,
    issuer: spec.issuer?.cert.subject ?? spec.subject,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey: keys.publicKey,
    signingKey: (spec.issuer?.keys ?? keys).privateKey,
    signingAlgorithm: signingAlgorithm(algorithm),
    extensions,
  });
  return { cert, keys };
}

function keyUsage(spec: CertificateSpec, algorithm: DevPkiAlgorithm): x509.KeyUsageFlags {
  if (spec.ca !== undefined) return x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
  // RSA key exchange in TLS 1.2 needs keyEncipherment on an RSA server certificate
  return algorithm === 'rsa-2048' && spec.usage === x509.ExtendedKeyUsage.serverAuth
    ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
    : x509.KeyUsageFlags.digitalSignature;
}

async function generateKeys(algorithm: DevPkiAlgorithm): Promise<CryptoKeyPair> {
  const params: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams =
    algorithm === 'rsa-2048'
      ? {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        }
      : { name: 'ECDSA', namedCurve: 'P-256' };
  return await webcrypto.subtle.generateKey(params, true, ['sign', 'verify']);
}

function signingAlgorithm(algorithm: DevPkiAlgorithm): webcrypto.Algorithm & { hash: string } {
  return algorithm === 'rsa-2048'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    : { name: 'ECDSA', hash: 'SHA-256' };
}

/** A random positive 128-bit serial number, as hex. */
function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

function pemOf(issued: ReadonlyMap<DevPkiRole, Issued>, role: DevPkiRole): string {
  return issued.get(role)!.cert.toString('pem') + '\n';
}
