import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigurationError } from '@countersign/common';

import { generateDevPki, type DevPkiManifest } from '../../../../tools/pki/dev-pki.js';

import { loadAuthServerConfig } from './auth-server.config.js';

describe('auth-server configuration', () => {
  let pkiDir: string;
  let manifest: DevPkiManifest;
  let dir: string;
  let env: Record<string, string>;
  const clients = (list: unknown[]) =>
    writeFileSync(join(dir, 'clients.json'), JSON.stringify({ clients: list }));
  const secretClient = {
    client_id: 'a',
    token_endpoint_auth_method: 'client_secret_basic',
    // a well-formed hash (16-byte salt, 32-byte hash) of a secret nobody kept
    client_secret_hash:
      'scrypt$32768$8$1$dUIhilTUapp0oXBLcPY80w$rrTH0n_saePuvllnOXt26GfpOPibrn0iZCFuCT7BEQc',
    scope: 'connect:events',
    audience: 'https://listener.test/connect',
  };
  const messageOf = (run: () => unknown): string => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as Error).message;
    }
    throw new Error('expected a ConfigurationError');
  };

  const pkiFile = (name: string) => join(manifest.outDir, name);

  beforeAll(async () => {
    pkiDir = mkdtempSync(join(tmpdir(), 'cs-auth-config-pki-'));
    manifest = await generateDevPki({ outDir: pkiDir });
  });

  afterAll(() => {
    rmSync(pkiDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cs-auth-config-'));
    const server = manifest.certificates['auth-server'];
    writeFileSync(join(dir, 'cert.pem'), readFileSync(pkiFile(server.chain!)));
    writeFileSync(join(dir, 'key.pem'), readFileSync(pkiFile(server.privateKey!)));
    writeFileSync(join(dir, 'ca.pem'), readFileSync(pkiFile(manifest.caBundle)));
    clients([secretClient]);
    env = {
      AUTH_ISSUER: 'https://auth.countersign.test',
      AUTH_TLS_CERT_FILE: join(dir, 'cert.pem'),
      AUTH_TLS_KEY_FILE: join(dir, 'key.pem'),
      AUTH_CLIENTS_FILE: join(dir, 'clients.json'),
    };
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies the documented defaults', () => {
    const config = loadAuthServerConfig(env);
    expect(config).toMatchObject({
      port: 8443,
      host: '0.0.0.0',
      issuer: 'https://auth.countersign.test',
      tokenTtlSeconds: 300,
      keys: { algorithm: 'ES256', reloadSeconds: 30 },
      rateLimit: { maxFailures: 10, windowSeconds: 300 },
      redisUrl: 'redis://127.0.0.1:6379',
      keyPrefix: 'countersign',
    });
  });

  it('keeps the issuer exactly as written (no trailing slash added or removed)', () => {
    expect(loadAuthServerConfig({ ...env, AUTH_ISSUER: 'https://a.test/' }).issuer).toBe(
      'https://a.test/',
    );
  });

  it.each(['https://auth.test/tenant', 'https://auth.test/tenant/', 'https://auth.test:8443/a/b'])(
    'refuses the issuer %s: metadata would list endpoint URLs under a path nobody serves',
    (issuer) => {
      const message = messageOf(() => loadAuthServerConfig({ ...env, AUTH_ISSUER: issuer }));
      expect(message).toContain('AUTH_ISSUER: must have no path');
      expect(message).toContain(`so use ${new URL(issuer).origin}`);
    },
  );

  it.each(['https://auth.test', 'https://auth.test/', 'https://auth.test:8443'])(
    'accepts the issuer %s, which has no path',
    (issuer) => {
      expect(loadAuthServerConfig({ ...env, AUTH_ISSUER: issuer }).issuer).toBe(issuer);
    },
  );

  it('names AUTH_ISSUER when it is missing', () => {
    const rest: Record<string, string> = { ...env };
    delete rest.AUTH_ISSUER;
    expect(messageOf(() => loadAuthServerConfig(rest))).toContain('AUTH_ISSUER');
  });

  it.each(['http://auth.test', 'https://auth.test/?a=b', 'https://auth.test/#x'])(
    'refuses the issuer %s',
    (issuer) => {
      expect(messageOf(() => loadAuthServerConfig({ ...env, AUTH_ISSUER: issuer }))).toContain(
        'AUTH_ISSUER: must be an https URL without query or fragment',
      );
    },
  );

  it('reads REDIS_CLUSTER_NODES as the seed nodes of a Redis Cluster', () => {
    const config = loadAuthServerConfig({ ...env, REDIS_CLUSTER_NODES: ' a:7000 , b:7001' });
    expect(config.redisClusterNodes).toEqual([
      { host: 'a', port: 7000 },
      { host: 'b', port: 7001 },
    ]);
    expect(loadAuthServerConfig({ ...env, REDIS_CLUSTER_NODES: '  ' }).redisClusterNodes).toBe(
      undefined,
    );
  });

  it.each(['a', 'a:b', 'a:7000;b:7001', 'a:7000,'])('refuses REDIS_CLUSTER_NODES %j', (nodes) => {
    expect(messageOf(() => loadAuthServerConfig({ ...env, REDIS_CLUSTER_NODES: nodes }))).toContain(
      'REDIS_CLUSTER_NODES',
    );
  });

  it('refuses an unusable REDIS_URL without repeating it (it may hold a password)', () => {
    const message = messageOf(() =>
      loadAuthServerConfig({ ...env, REDIS_URL: 'redis://:pw-not-for-logs@127.0.0.1:99999' }),
    );
    expect(message).toContain('REDIS_URL');
    expect(message).not.toContain('pw-not-for-logs');
  });

  it('refuses HS256 as the signing algorithm', () => {
    expect(messageOf(() => loadAuthServerConfig({ ...env, AUTH_SIGNING_ALG: 'HS256' }))).toContain(
      'AUTH_SIGNING_ALG',
    );
  });

  it('names the TLS file it cannot read', () => {
    const message = messageOf(() =>
      loadAuthServerConfig({ ...env, AUTH_TLS_KEY_FILE: join(dir, 'missing.pem') }),
    );
    expect(message).toContain('AUTH_TLS_KEY_FILE: cannot read');
  });

  it('refuses a TLS certificate file that holds no certificate, naming it', () => {
    writeFileSync(join(dir, 'cert.pem'), 'not a certificate');
    expect(messageOf(() => loadAuthServerConfig(env))).toContain(
      'AUTH_TLS_CERT_FILE: holds no PEM certificate',
    );
  });

  it('refuses a private key that does not belong to the certificate', () => {
    const other = manifest.certificates['listener'].privateKey!;
    writeFileSync(join(dir, 'key.pem'), readFileSync(pkiFile(other)));
    expect(messageOf(() => loadAuthServerConfig(env))).toContain('not a usable key pair');
  });

  it('refuses a client CA file that holds no certificate', () => {
    writeFileSync(join(dir, 'ca.pem'), 'garbage');
    expect(
      messageOf(() => loadAuthServerConfig({ ...env, AUTH_CLIENT_CA_FILE: join(dir, 'ca.pem') })),
    ).toContain('AUTH_CLIENT_CA_FILE: holds no PEM CA certificate');
  });

  it('requires AUTH_CLIENT_CA_FILE as soon as one client uses tls_client_auth', () => {
    clients([
      {
        ...secretClient,
        client_secret_hash: undefined,
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_dns: 'connect.test',
      },
    ]);
    expect(messageOf(() => loadAuthServerConfig(env))).toContain('AUTH_CLIENT_CA_FILE: required');
  });

  it('refuses a clients file with an unknown member, naming it', () => {
    clients([{ ...secretClient, client_secrett: 'typo' }]);
    expect(messageOf(() => loadAuthServerConfig(env))).toContain('client_secrett');
  });

  it('refuses a tls_client_auth client with two subject rules', () => {
    clients([
      {
        ...secretClient,
        client_secret_hash: undefined,
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_dns: 'connect.test',
        tls_client_auth_san_ip: '127.0.0.1',
      },
    ]);
    expect(
      messageOf(() => loadAuthServerConfig({ ...env, AUTH_CLIENT_CA_FILE: join(dir, 'ca.pem') })),
    ).toContain('tls_client_auth needs exactly one of');
  });

  it('refuses a secret client without a hash and a plain-text secret field', () => {
    clients([{ ...secretClient, client_secret_hash: undefined, client_secret: 'plain' }]);
    const message = messageOf(() => loadAuthServerConfig(env));
    expect(message).toContain('client_secret');
    expect(message).not.toContain('plain');
  });

  it.each([
    ['a 4-byte salt', 'scrypt$32768$8$1$c2FsdA$aGFzaA'],
    ['a secret pasted instead of its hash', 'correct-horse-battery-staple'],
    [
      'a cost that is not a power of two',
      'scrypt$30000$8$1$dUIhilTUapp0oXBLcPY80w$AAAAAAAAAAAAAAAAAAAAAA',
    ],
    ['an unbounded cost', 'scrypt$1073741824$8$1$dUIhilTUapp0oXBLcPY80w$AAAAAAAAAAAAAAAAAAAAAA'],
    ['a missing hash', 'scrypt$32768$8$1$dUIhilTUapp0oXBLcPY80w'],
  ])(
    'refuses a client_secret_hash with %s, naming the client and field but not the value',
    (_, hash) => {
      clients([
        secretClient,
        { ...secretClient, client_id: 'broken-hash', client_secret_hash: hash },
      ]);
      const message = messageOf(() => loadAuthServerConfig(env));
      expect(message).toContain(
        'clients.1.client_secret_hash: must be a hash made by `clients add`',
      );
      expect(message).toContain('for client "broken-hash"');
      expect(message).not.toContain('clients.0');
      expect(message).not.toContain(hash);
    },
  );

  it('refuses a clients file that is not JSON without quoting its content', () => {
    writeFileSync(join(dir, 'clients.json'), `{"clients": [${secretClient.client_secret_hash}`);
    const message = messageOf(() => loadAuthServerConfig(env));
    expect(message).toContain('the clients file is not valid JSON');
    expect(message).not.toContain(secretClient.client_secret_hash);
  });

  it('refuses a subject DN that is not RFC 4514', () => {
    clients([
      {
        ...secretClient,
        client_secret_hash: undefined,
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: 'CN=a,,=b',
      },
    ]);
    expect(
      messageOf(() => loadAuthServerConfig({ ...env, AUTH_CLIENT_CA_FILE: join(dir, 'ca.pem') })),
    ).toContain('tls_client_auth_subject_dn is not an RFC 4514');
  });

  it('takes the longest client token lifetime as the key retention time', () => {
    clients([{ ...secretClient, token_ttl_seconds: 900 }]);
    expect(loadAuthServerConfig(env).maxTokenTtlSeconds).toBe(900);
  });
});
