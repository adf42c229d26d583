import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';

import {
  DevPkiFilesExistError,
  type DevPkiManifest,
  type DevPkiRole,
  generateDevPki,
} from './dev-pki.js';
import { runPkiCli } from './pki-cli.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const directories: string[] = [];

async function freshDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'cs-test-pki-'));
  directories.push(directory);
  return directory;
}

afterAll(async () => {
  await Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true })));
});

function read(manifest: DevPkiManifest, file: string): Promise<Buffer> {
  return readFile(join(manifest.outDir, file));
}

async function certificate(manifest: DevPkiManifest, role: DevPkiRole): Promise<X509Certificate> {
  return new X509Certificate(await read(manifest, manifest.certificates[role].certificate));
}

function opensslVerify(manifest: DevPkiManifest, ...args: string[]) {
  const result = spawnSync('openssl', ['verify', ...args], {
    cwd: manifest.outDir,
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface HandshakeOutcome {
  /** The server accepted the client and answered over the encrypted connection. */
  readonly completed: boolean;
  /** What the server's certificate check said, when the server only observes (`enforce` off). */
  readonly authorizationError?: string;
  readonly clientSubject?: string;
}

/**
 * A real mTLS handshake against a server presenting the listener's chain, both sides trusting only
 * the dev CA bundle. With `enforce` the server refuses an untrusted client certificate, as the
 * listener does; without it the server accepts and reports why the certificate is untrusted. The
 * client always checks the server's certificate against `serverName` (a DNS name or an IP).
 */
async function handshake(
  manifest: DevPkiManifest,
  clientRole: DevPkiRole,
  { enforce = true, serverName = 'localhost' } = {},
): Promise<HandshakeOutcome> {
  const listener = manifest.certificates.listener;
  const client = manifest.certificates[clientRole];
  const ca = await read(manifest, manifest.caBundle);
  const server = tls.createServer({
    key: await read(manifest, listener.privateKey!),
    cert: await read(manifest, listener.chain!),
    ca,
    requestCert: true,
    rejectUnauthorized: enforce,
  });
  server.on('secureConnection', (socket) => {
    const commonName = [socket.getPeerCertificate().subject.CN].flat().join(',');
    const error = socket.authorizationError;
    socket.end(JSON.stringify({ commonName, error: error === null ? null : String(error) }));
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;

  try {
    const key = await read(manifest, client.privateKey!);
    const cert = await read(manifest, client.chain ?? client.certificate);
    const received = await new Promise<string>((finished) => {
      let data = '';
      const socket = tls.connect({
        host: '127.0.0.1',
        port,
        ...(isIP(serverName) === 0 && { servername: serverName }),
        checkServerIdentity: (_host, peer) => tls.checkServerIdentity(serverName, peer),
        ca,
        key,
        cert,
      });
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('error', () => finished(data));
      socket.on('close', () => finished(data));
    });
    if (received === '') return { completed: false };
    const answer = JSON.parse(received) as { commonName: string; error: string | null };
    return {
      completed: true,
      clientSubject: answer.commonName,
      ...(answer.error !== null && { authorizationError: answer.error }),
    };
  } finally {
    await new Promise((closed) => server.close(closed));
  }
}

describe('generateDevPki (ECDSA P-256)', () => {
  let manifest: DevPkiManifest;

  beforeAll(async () => {
    manifest = await generateDevPki({ outDir: await freshDirectory() });
  });

  it('writes every file the manifest lists, and nothing else', async () => {
    const written = (await readdir(manifest.outDir)).sort();

    expect(written).toEqual(manifest.files.map((file) => file.path).sort());
    expect(written).toEqual(
      expect.arrayContaining([
        'ca-bundle.pem',
        'root-ca.pem',
        'intermediate-ca.pem',
        'auth-server.chain.pem',
        'listener.chain.pem',
        'connect-client.fullchain.pem',
        'unrelated-root-ca.pem',
        'manifest.json',
      ]),
    );
  });

  it('writes private keys as PKCS#8 readable only by the owner', async () => {
    const keyFiles = manifest.files.filter((file) => file.kind === 'private-key');

    expect(keyFiles.length).toBeGreaterThanOrEqual(10);
    for (const file of keyFiles) {
      const pem = (await read(manifest, file.path)).toString();
      expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(createPrivateKey(pem).asymmetricKeyType).toBe('ec');
      expect((await stat(join(manifest.outDir, file.path))).mode & 0o777).toBe(0o600);
    }
  });

  it('pairs every private key with its certificate', async () => {
    for (const entry of Object.values(manifest.certificates)) {
      if (entry.privateKey === undefined) continue;
      const cert = new X509Certificate(await read(manifest, entry.certificate));
      const key = createPrivateKey(await read(manifest, entry.privateKey));
      expect(cert.checkPrivateKey(key)).toBe(true);
    }
  });

  it('records subject, x5t#S256 thumbprint and validity of each certificate in manifest.json', async () => {
    const stored = JSON.parse((await read(manifest, 'manifest.json')).toString()) as DevPkiManifest;

    expect(stored.certificates).toEqual(manifest.certificates);
    expect(stored.outDir).toBe('.');
    for (const entry of Object.values(manifest.certificates)) {
      const cert = new X509Certificate(await read(manifest, entry.certificate));
      expect(entry.thumbprint).toBe(createHash('sha256').update(cert.raw).digest('base64url'));
      expect(new Date(entry.notBefore).getTime()).toBe(new Date(cert.validFrom).getTime());
      expect(new Date(entry.notAfter).getTime()).toBe(new Date(cert.validTo).getTime());
      expect(cert.subject.split('\n').join(', ')).toBe(entry.subject);
    }
    expect(manifest.certificates['connect-client'].subject).toBe(
      'CN=connect.countersign.test, O=Countersign Dev, C=US',
    );
  });

  it('chains the intermediate to the root and every trusted leaf to the intermediate', async () => {
    const root = await certificate(manifest, 'root-ca');
    const intermediate = await certificate(manifest, 'intermediate-ca');

    expect(root.verify(root.publicKey)).toBe(true);
    expect(intermediate.checkIssued(root)).toBe(true);
    expect(intermediate.verify(root.publicKey)).toBe(true);
    expect(root.ca && intermediate.ca).toBe(true);
    for (const role of [
      'auth-server',
      'listener',
      'connect-client',
      'expired-client',
      'not-yet-valid-client',
      'other-subject-client',
    ] as const) {
      const leaf = await certificate(manifest, role);
      expect(leaf.ca).toBe(false);
      expect(leaf.checkIssued(intermediate)).toBe(true);
      expect(leaf.verify(intermediate.publicKey)).toBe(true);
      expect(leaf.verify(root.publicKey)).toBe(false);
    }
  });

  it('bundles the root and the intermediate, and chains leaf then intermediate', async () => {
    const bundle = (await read(manifest, 'ca-bundle.pem')).toString();
    const root = (await read(manifest, 'root-ca.pem')).toString();
    const intermediate = (await read(manifest, 'intermediate-ca.pem')).toString();
    const leaf = (await read(manifest, 'connect-client.pem')).toString();

    expect(bundle).toBe(root + intermediate);
    expect((await read(manifest, 'connect-client.fullchain.pem')).toString()).toBe(
      leaf + intermediate,
    );
    expect((await read(manifest, 'listener.chain.pem')).toString()).toBe(
      (await read(manifest, 'listener.pem')).toString() + intermediate,
    );
  });

  it('names localhost, 127.0.0.1, ::1 and the compose host in each server certificate', async () => {
    for (const role of ['auth-server', 'listener'] as const) {
      const server = await certificate(manifest, role);
      expect(server.checkHost('localhost')).toBe('localhost');
      expect(server.checkHost(role)).toBe(role);
      expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(server.checkIP('::1')).toBe('::1');
      expect(server.checkHost('connect.countersign.test')).toBeUndefined();
      expect(server.keyUsage).toEqual([SERVER_AUTH]);
    }
    expect((await certificate(manifest, 'auth-server')).checkHost('listener')).toBeUndefined();
  });

  it('issues the Connect client certificate for client authentication only', async () => {
    const client = await certificate(manifest, 'connect-client');

    expect(client.subject).toBe('CN=connect.countersign.test\nO=Countersign Dev\nC=US');
    expect(client.subjectAltName).toBe('DNS:connect.countersign.test');
    expect(client.keyUsage).toEqual([CLIENT_AUTH]);
  });

  it('makes each negative client certificate differ from the Connect one in one way', async () => {
    const now = Date.now();
    const connect = manifest.certificates['connect-client'];
    const entries = manifest.certificates;
    const unrelatedRoot = await certificate(manifest, 'unrelated-root-ca');
    const unrelated = await certificate(manifest, 'unrelated-client');
    const selfSigned = await certificate(manifest, 'self-signed-client');

    expect(new Date(entries['expired-client'].notAfter).getTime()).toBeLessThan(now);
    expect(new Date(entries['not-yet-valid-client'].notBefore).getTime()).toBeGreaterThan(now);
    expect(entries['other-subject-client'].subject).not.toBe(connect.subject);
    expect(entries['other-subject-client'].issuer).toBe(connect.issuer);
    for (const role of ['unrelated-client', 'expired-client', 'not-yet-valid-client'] as const) {
      expect(entries[role].subject).toBe(connect.subject);
    }
    expect(unrelated.checkIssued(unrelatedRoot)).toBe(true);
    expect(unrelated.verify(unrelatedRoot.publicKey)).toBe(true);
    expect(unrelated.verify((await certificate(manifest, 'intermediate-ca')).publicKey)).toBe(
      false,
    );
    expect(selfSigned.subject).toBe(selfSigned.issuer);
    expect(selfSigned.verify(selfSigned.publicKey)).toBe(true);
    expect(entries['self-signed-client'].subject).toBe(connect.subject);
  });

  it('passes openssl verify for the trusted certificates, each for its purpose', () => {
    for (const [purpose, file] of [
      ['sslserver', 'listener.pem'],
      ['sslserver', 'auth-server.pem'],
      ['sslclient', 'connect-client.pem'],
      ['sslclient', 'other-subject-client.pem'],
    ]) {
      const result = opensslVerify(manifest, '-purpose', purpose, '-CAfile', 'ca-bundle.pem', file);
      expect(result).toEqual({ status: 0, output: `${file}: OK\n` });
    }
    const strict = opensslVerify(
      manifest,
      '-x509_strict',
      '-CAfile',
      'root-ca.pem',
      '-untrusted',
      'intermediate-ca.pem',
      'connect-client.pem',
    );
    expect(strict.status).toBe(0);
  });

  it.each([
    ['unrelated-client.pem', /unable to get local issuer certificate/],
    ['expired-client.pem', /certificate has expired/],
    ['not-yet-valid-client.pem', /certificate is not yet valid/],
    ['self-signed-client.pem', /self[- ]signed certificate/],
  ])('fails openssl verify for %s', (file, error) => {
    const result = opensslVerify(manifest, '-CAfile', 'ca-bundle.pem', file);

    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(error);
  });

  it('refuses the listener certificate as a client certificate in openssl', () => {
    const result = opensslVerify(
      manifest,
      '-purpose',
      'sslclient',
      '-CAfile',
      'ca-bundle.pem',
      'listener.pem',
    );

    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/unsuitable certificate purpose/);
  });

  it('completes a real mTLS handshake with the Connect client certificate', async () => {
    await expect(handshake(manifest, 'connect-client')).resolves.toEqual({
      completed: true,
      clientSubject: 'connect.countersign.test',
    });
  });

  it('lets a client check the listener by IP as well as by name', async () => {
    for (const serverName of ['127.0.0.1', '::1', 'listener']) {
      await expect(handshake(manifest, 'connect-client', { serverName })).resolves.toMatchObject({
        completed: true,
      });
    }
  });

  it('fails when the client expects a server name the listener certificate does not carry', async () => {
    await expect(
      handshake(manifest, 'connect-client', { serverName: '10.0.0.1' }),
    ).resolves.toEqual({ completed: false });
    await expect(
      handshake(manifest, 'connect-client', { serverName: 'auth-server' }),
    ).resolves.toEqual({ completed: false });
  });

  it.each([
    ['unrelated-client', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['expired-client', 'CERT_HAS_EXPIRED'],
    ['not-yet-valid-client', 'CERT_NOT_YET_VALID'],
    ['self-signed-client', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  ] as const)('fails the mTLS handshake with the %s certificate (%s)', async (role, error) => {
    await expect(handshake(manifest, role)).resolves.toEqual({ completed: false });
    await expect(handshake(manifest, role, { enforce: false })).resolves.toMatchObject({
      authorizationError: error,
    });
  });

  it('completes the handshake for the other-subject certificate (a subject pin must catch it)', async () => {
    await expect(handshake(manifest, 'other-subject-client')).resolves.toEqual({
      completed: true,
      clientSubject: 'impostor.countersign.test',
    });
  });
});

describe('generateDevPki: existing files', () => {
  it('refuses to overwrite an existing PKI and leaves it as it was', async () => {
    const outDir = await freshDirectory();
    const first = await generateDevPki({ outDir });
    const before = await readFile(join(outDir, 'root-ca.pem'));

    await expect(generateDevPki({ outDir })).rejects.toBeInstanceOf(DevPkiFilesExistError);
    expect((await readFile(join(outDir, 'root-ca.pem'))).equals(before)).toBe(true);
    expect(first.certificates['root-ca'].thumbprint).toBeDefined();
  });

  it('writes nothing when even one of its files already exists', async () => {
    const outDir = await freshDirectory();
    await writeFile(join(outDir, 'manifest.json'), '{}');

    const refusal = generateDevPki({ outDir });

    await expect(refusal).rejects.toThrow(
      /refusing to overwrite 1 existing file\(s\) \(manifest.json\)/,
    );
    expect(await readdir(outDir)).toEqual(['manifest.json']);
  });

  it('replaces every file with --force, keeping keys at mode 0600', async () => {
    const outDir = await freshDirectory();
    const first = await generateDevPki({ outDir });
    const second = await generateDevPki({ outDir, force: true });

    expect(second.certificates['root-ca'].thumbprint).not.toBe(
      first.certificates['root-ca'].thumbprint,
    );
    const stored = JSON.parse(
      await readFile(join(outDir, 'manifest.json'), 'utf8'),
    ) as DevPkiManifest;
    expect(stored.certificates['root-ca'].thumbprint).toBe(
      second.certificates['root-ca'].thumbprint,
    );
    expect((await stat(join(outDir, 'connect-client.key.pem'))).mode & 0o777).toBe(0o600);
  });
});

describe('generateDevPki (RSA 2048)', () => {
  let manifest: DevPkiManifest;

  beforeAll(async () => {
    manifest = await generateDevPki({ outDir: await freshDirectory(), algorithm: 'rsa-2048' });
  });

  it('issues RSA 2048 keys signed with SHA-256', async () => {
    const listener = await certificate(manifest, 'listener');
    const key = createPrivateKey(await read(manifest, manifest.certificates.listener.privateKey!));

    expect(manifest.algorithm).toBe('rsa-2048');
    expect(listener.publicKey.asymmetricKeyType).toBe('rsa');
    expect(listener.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(listener.verify((await certificate(manifest, 'intermediate-ca')).publicKey)).toBe(true);
  });

  it('passes openssl verify and a real mTLS handshake', async () => {
    expect(
      opensslVerify(
        manifest,
        '-purpose',
        'sslclient',
        '-CAfile',
        'ca-bundle.pem',
        'connect-client.pem',
      ).status,
    ).toBe(0);
    await expect(handshake(manifest, 'connect-client')).resolves.toMatchObject({
      completed: true,
    });
    await expect(handshake(manifest, 'unrelated-client')).resolves.toEqual({ completed: false });
  });
});

describe('pki CLI', () => {
  function capture() {
    const lines = { out: [] as string[], err: [] as string[] };
    return {
      lines,
      output: {
        out: (line: string) => lines.out.push(line),
        err: (line: string) => lines.err.push(line),
      },
    };
  }

  it('writes the PKI and prints each file with its purpose', async () => {
    const outDir = await freshDirectory();
    const { lines, output } = capture();

    await expect(runPkiCli(['--out', outDir], output)).resolves.toBe(0);
    expect(lines.out[0]).toBe(`Wrote the ecdsa-p256 dev PKI to ${outDir}:`);
    expect(lines.out).toContainEqual(
      expect.stringMatching(/^ {2}ca-bundle\.pem +root \+ intermediate/),
    );
    expect(lines.out).toHaveLength(1 + (await readdir(outDir)).length);
  });

  it('exits non-zero with a clear message instead of overwriting', async () => {
    const outDir = await freshDirectory();
    await runPkiCli(['--out', outDir], capture().output);
    const { lines, output } = capture();

    await expect(runPkiCli(['--out', outDir], output)).resolves.toBe(1);
    expect(lines.err.join('\n')).toMatch(
      /^pki: refusing to overwrite 26 existing file\(s\).*--force/,
    );
    await expect(runPkiCli(['--out', outDir, '--force'], capture().output)).resolves.toBe(0);
  });

  it('rejects an unknown algorithm and a missing --out', async () => {
    const unknown = capture();
    const missing = capture();

    await expect(
      runPkiCli(['--out', '/nonexistent', '--algorithm', 'dsa'], unknown.output),
    ).resolves.toBe(1);
    expect(unknown.lines.err.join('\n')).toMatch(/Allowed choices are ecdsa-p256, rsa-2048/);
    await expect(runPkiCli([], missing.output)).resolves.toBe(1);
    expect(missing.lines.err.join('\n')).toMatch(/required option '--out <dir>'/);
  });
});
