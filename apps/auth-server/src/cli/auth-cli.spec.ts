import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { verifySecret } from '@countersign/security';
import * as x509 from '@peculiar/x509';

import { loadClientsFile } from '../clients/client-registry.js';
import { readSigningKeys } from '../keys/key-directory.js';
import { buildAuthCli, runAuthCli } from './auth-cli.js';

async function selfSignedPem(): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await crypto.subtle.generateKey(alg, false, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=cli-self-signed',
    keys,
    signingAlgorithm: alg,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
  });
  return cert.toString('pem');
}

describe('auth-server CLI', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  const run = (args: string[], env: Record<string, string> = {}) => {
    const program = buildAuthCli(env, {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });
    return program.parseAsync(['node', 'cli', ...args]);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cs-cli-'));
    out = [];
    err = [];
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers a secret client, prints the secret once and stores only its scrypt hash', async () => {
    const file = join(dir, 'clients.json');
    await run(['clients', 'add', '--id', 'docusign', '--method', 'client_secret_basic'], {}).catch(
      () => undefined,
    );
    out = [];
    await run([
      'clients',
      'add',
      '--file',
      file,
      '--id',
      'docusign',
      '--method',
      'client_secret_basic',
      '--scope',
      'connect:events',
      '--audience',
      'https://listener.test/connect',
      '--bound',
    ]);
    const secretLine = out.find((line) => line.startsWith('client_secret: '));
    expect(secretLine).toBeDefined();
    const secret = secretLine!.slice('client_secret: '.length);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const stored = readFileSync(file, 'utf8');
    expect(stored).not.toContain(secret);
    const client = loadClientsFile(file).find('docusign');
    expect(client?.boundTokensRequired).toBe(true);
    expect(await verifySecret(secret, client!.secretHash!)).toBe(true);
  });

  it('refuses clients add without a clients file path', async () => {
    await expect(
      run([
        'clients',
        'add',
        '--method',
        'client_secret_basic',
        '--scope',
        'a',
        '--audience',
        'https://l.test',
      ]),
    ).rejects.toThrow(/AUTH_CLIENTS_FILE is required/);
  });

  it('generates a client id when none is given', async () => {
    const file = join(dir, 'clients.json');
    await run(
      [
        'clients',
        'add',
        '--method',
        'client_secret_post',
        '--scope',
        'a',
        '--audience',
        'https://l.test',
      ],
      { AUTH_CLIENTS_FILE: file },
    );
    const id = out.find((line) => line.startsWith('client_id: '))!.slice('client_id: '.length);
    expect(id).toMatch(/^cs-[A-Za-z0-9_-]{16}$/);
    expect(loadClientsFile(file).find(id)?.authMethod).toBe('client_secret_post');
  });

  it('registers a tls_client_auth client with its subject rule and prints no secret', async () => {
    const file = join(dir, 'clients.json');
    await run([
      'clients',
      'add',
      '--file',
      file,
      '--id',
      'connect-mtls',
      '--method',
      'tls_client_auth',
      '--subject-dn',
      'CN=connect.countersign.test,O=Countersign Dev,C=US',
      '--scope',
      'connect:events',
      '--audience',
      'https://listener.test/connect',
    ]);
    expect(out.some((line) => line.startsWith('client_secret'))).toBe(false);
    expect(loadClientsFile(file).find('connect-mtls')?.subjectRule).toEqual({
      subjectDn: 'CN=connect.countersign.test,O=Countersign Dev,C=US',
    });
  });

  it('refuses a tls_client_auth client without a subject rule and leaves the file untouched', async () => {
    const file = join(dir, 'clients.json');
    writeFileSync(file, JSON.stringify({ clients: [] }));
    await expect(
      run([
        'clients',
        'add',
        '--file',
        file,
        '--method',
        'tls_client_auth',
        '--scope',
        'a',
        '--audience',
        'https://l.test',
      ]),
    ).rejects.toThrow(/tls_client_auth needs exactly one of/);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ clients: [] });
  });

  it('refuses a second client with the same id', async () => {
    const file = join(dir, 'clients.json');
    const add = () =>
      run([
        'clients',
        'add',
        '--file',
        file,
        '--id',
        'twice',
        '--method',
        'client_secret_basic',
        '--scope',
        'a',
        '--audience',
        'https://l.test',
      ]);
    await add();
    await expect(add()).rejects.toThrow(/registered twice/);
  });

  it('registers a self-signed certificate as a JWK whose key matches x5c[0]', async () => {
    const file = join(dir, 'clients.json');
    const certFile = join(dir, 'self.pem');
    const pem = await selfSignedPem();
    writeFileSync(certFile, pem);
    await run([
      'clients',
      'add',
      '--file',
      file,
      '--id',
      'self',
      '--method',
      'self_signed_tls_client_auth',
      '--cert',
      certFile,
      '--scope',
      'a',
      '--audience',
      'https://l.test',
    ]);
    const client = loadClientsFile(file).find('self');
    const cert = new X509Certificate(pem);
    const expected = Buffer.from(await crypto.subtle.digest('SHA-256', cert.raw)).toString(
      'base64url',
    );
    expect(client?.pinnedThumbprints).toEqual([expected]);
  });

  it('refuses a clients file entry whose JWK does not match its x5c certificate', async () => {
    const file = join(dir, 'clients.json');
    const pem = await selfSignedPem();
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'jwk',
    });
    writeFileSync(
      file,
      JSON.stringify({
        clients: [
          {
            client_id: 'mismatch',
            token_endpoint_auth_method: 'self_signed_tls_client_auth',
            scope: 'a',
            audience: 'https://l.test',
            jwks: { keys: [{ ...other, x5c: [new X509Certificate(pem).raw.toString('base64')] }] },
          },
        ],
      }),
    );
    expect(() => loadClientsFile(file)).toThrow(/public key is not the key of x5c\[0\]/);
  });

  it('rotates keys: adds a key with the chosen algorithm and delayed activation', async () => {
    const keysDir = join(dir, 'keys');
    await run(['keys', 'rotate', '--alg', 'RS256', '--activate-after', '120'], {
      AUTH_KEYS_DIR: keysDir,
    });
    const [key] = await readSigningKeys(keysDir);
    expect(key.alg).toBe('RS256');
    expect(out).toContain(`kid: ${key.kid}`);
    expect(Date.parse(key.activatesAt) - Date.parse(key.createdAt)).toBe(120_000);
  });

  it('prunes nothing while the only key is the active one', async () => {
    const keysDir = join(dir, 'keys');
    await run(['keys', 'rotate'], { AUTH_KEYS_DIR: keysDir });
    await run(['keys', 'prune', '--max-token-ttl', '0'], { AUTH_KEYS_DIR: keysDir });
    expect(out.some((line) => line.startsWith('removed:'))).toBe(false);
    expect(await readSigningKeys(keysDir)).toHaveLength(1);
  });

  describe('every failure prints one line on stderr and exits non-zero', () => {
    const exitOf = (args: string[], env: Record<string, string> = {}) =>
      runAuthCli(['node', 'cli', ...args], env, {
        // commander ends its lines with a newline, as process.stderr needs
        out: (line) => out.push(line.replace(/\n$/, '')),
        err: (line) => err.push(line.replace(/\n$/, '')),
      });
    const addArgs = [
      '--method',
      'client_secret_basic',
      '--scope',
      'a',
      '--audience',
      'https://l.test',
    ];

    it('says that clients add needs --file or AUTH_CLIENTS_FILE', async () => {
      expect(await exitOf(['clients', 'add', ...addArgs])).toBe(1);
      expect(err).toEqual(['error: --file or AUTH_CLIENTS_FILE is required']);
      expect(out).toEqual([]);
    });

    it('says which AUTH_SIGNING_ALG keys rotate refuses, and the allowed values', async () => {
      const keysDir = join(dir, 'keys');
      expect(
        await exitOf(['keys', 'rotate', '--dir', keysDir], { AUTH_SIGNING_ALG: 'HS256' }),
      ).toBe(1);
      expect(err).toEqual([
        'error: AUTH_SIGNING_ALG: "HS256" is not allowed; use one of ES256, RS256',
      ]);
      expect(await readSigningKeys(keysDir)).toEqual([]);
    });

    it("keeps commander's own message for an option it refuses", async () => {
      expect(await exitOf(['keys', 'rotate', '--dir', dir, '--alg', 'HS256'])).toBe(1);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(
        /^error: option '--alg <alg>' argument 'HS256' is invalid\. Allowed choices are ES256, RS256/,
      );
    });

    it('flattens a refused clients file into one line', async () => {
      const file = join(dir, 'clients.json');
      expect(
        await exitOf([
          'clients',
          'add',
          '--file',
          file,
          '--method',
          'tls_client_auth',
          '--scope',
          'a',
          '--audience',
          'https://l.test',
        ]),
      ).toBe(1);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(
        /^error: invalid configuration in .*clients\.json: clients\.0 \(cs-[^)]+\): tls_client_auth needs exactly one of/,
      );
      expect(err[0]).not.toContain('\n');
    });

    it('names a clients file that is not JSON without quoting it (it holds secret hashes)', async () => {
      const file = join(dir, 'clients.json');
      const hash =
        'scrypt$32768$8$1$dUIhilTUapp0oXBLcPY80w$rrTH0n_saePuvllnOXt26GfpOPibrn0iZCFuCT7BEQc';
      writeFileSync(file, `{"clients": [{"client_secret_hash": "${hash}"`);
      expect(await exitOf(['clients', 'add', '--file', file, ...addArgs])).toBe(1);
      expect(err).toEqual([`error: ${file} is not valid JSON`]);
      expect(out).toEqual([]);
    });

    it('names a certificate file it cannot read', async () => {
      const file = join(dir, 'clients.json');
      const missing = join(dir, 'missing.pem');
      const args = ['clients', 'add', '--file', file, '--method', 'self_signed_tls_client_auth'];
      expect(
        await exitOf([...args, '--cert', missing, '--scope', 'a', '--audience', 'https://l.test']),
      ).toBe(1);
      expect(err).toHaveLength(1);
      expect(err[0]).toContain(missing);
    });

    it('exits 0 and prints the secret on stdout only when the client was added', async () => {
      const file = join(dir, 'clients.json');
      expect(await exitOf(['clients', 'add', '--file', file, ...addArgs])).toBe(0);
      const secret = out.find((line) => line.startsWith('client_secret: '))!.slice(15);
      expect(err.join('\n')).not.toContain(secret);
    });
  });

  it('refuses an unknown signing algorithm', async () => {
    await expect(run(['keys', 'rotate', '--dir', dir, '--alg', 'HS256'])).rejects.toThrow(
      /Allowed choices are ES256, RS256/,
    );
  });
});
