import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigurationError } from '@countersign/common';
import { hashSecret } from '@countersign/security';
import type { OpenAPIV3_1 } from 'openapi-types';
import { register } from 'prom-client';

import { createSigningKey } from '../../apps/auth-server/src/keys/key-directory.js';
import { OAUTH_ERROR_CODES } from '../../apps/auth-server/src/oauth/oauth-error.js';
import { call, startAuthServer, type RunningAuthServer } from './support/auth-server-harness.js';
import { createAuthTestPki, removeAuthTestPki, type AuthTestPki } from './support/test-pki.js';

const AUDIENCE = 'https://listener.countersign.test/connect';

describe('auth-server start-up refuses a broken configuration with a clear message', () => {
  let pki: AuthTestPki;
  let dir: string;
  let clients: Record<string, unknown>[];

  const startupError = async (env: Record<string, string>): Promise<ConfigurationError> => {
    const started = await startAuthServer({ pki, clients, env }).then(
      async (server) => {
        await server.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(started).toBeInstanceOf(ConfigurationError);
    return started as ConfigurationError;
  };

  beforeAll(async () => {
    pki = await createAuthTestPki();
    clients = [
      {
        client_id: 'start-up',
        token_endpoint_auth_method: 'client_secret_basic',
        client_secret_hash: await hashSecret('start-up-secret'),
        scope: 'connect:events',
        audience: AUDIENCE,
      },
    ];
  });

  afterAll(() => {
    removeAuthTestPki(pki);
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cs-auth-start-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('names a key file that is not JSON, and never quotes its content', async () => {
    const keysDir = join(dir, 'keys');
    await createSigningKey(keysDir, 'ES256');
    const privatePart = 'c2VjcmV0LXByaXZhdGUta2V5LW1hdGVyaWFs';
    writeFileSync(
      join(keysDir, '20260101T000000000Z-truncated.json'),
      `{"privateJwk":{"d":"${privatePart}`,
    );

    const error = await startupError({ AUTH_KEYS_DIR: keysDir });
    expect(error.message).toContain(`invalid configuration in ${keysDir}`);
    expect(error.message).toContain('20260101T000000000Z-truncated.json: is not valid JSON');
    expect(error.message).not.toContain(privatePart);
  });

  it('names a key file whose private key cannot sign', async () => {
    const keysDir = join(dir, 'keys');
    const key = await createSigningKey(keysDir, 'ES256');
    writeFileSync(
      join(keysDir, 'broken-key.json'),
      JSON.stringify({ ...key, privateJwk: { ...key.privateJwk, d: 'AAAA' } }),
    );

    const error = await startupError({ AUTH_KEYS_DIR: keysDir });
    expect(error.problems).toEqual([
      'broken-key.json: privateJwk is not a usable ES256 private key',
    ]);
  });

  it('names AUTH_KEYS_DIR when it is not a directory', async () => {
    const notADirectory = join(dir, 'keys');
    writeFileSync(notADirectory, 'a file');

    const error = await startupError({ AUTH_KEYS_DIR: notADirectory });
    expect(error.message).toContain(notADirectory);
    expect(error.message).toContain('cannot read the keys directory (ENOTDIR)');
  });

  it('refuses an issuer with a path, whose metadata would list endpoints nobody serves', async () => {
    mkdirSync(join(dir, 'keys'));
    const error = await startupError({ AUTH_ISSUER: 'https://127.0.0.1:8443/tenant' });
    expect(error.problems).toEqual([
      'AUTH_ISSUER: must have no path (found /tenant); the auth-server serves its endpoints at ' +
        'the root of its origin, so use https://127.0.0.1:8443',
    ]);
  });
});

describe('auth-server OpenAPI document and metrics', () => {
  let pki: AuthTestPki;
  let server: RunningAuthServer;

  beforeAll(async () => {
    pki = await createAuthTestPki();
    server = await startAuthServer({
      pki,
      clients: [
        {
          client_id: 'doc',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('doc-secret'),
          scope: 'connect:events',
          audience: AUDIENCE,
        },
      ],
    });
  });

  afterAll(async () => {
    await server?.close();
    removeAuthTestPki(pki);
  });

  it.each(['/oauth2/token', '/oauth2/introspect', '/oauth2/revoke'])(
    'documents 500 server_error on %s, and every error code the server can send',
    async (path) => {
      const answer = await call(server, pki, { method: 'GET', path: '/openapi.json' });
      const document = answer.json as unknown as OpenAPIV3_1.Document;
      const responses = document.paths?.[path]?.post?.responses ?? {};

      expect(Object.keys(responses)).toContain('500');
      const serverError = responses['500'] as OpenAPIV3_1.ResponseObject;
      const schema = serverError.content?.['application/json']?.schema as OpenAPIV3_1.SchemaObject;
      const error = schema.properties?.error as OpenAPIV3_1.SchemaObject;
      expect(error.enum).toContain('server_error');
      expect(error.enum).toEqual([...OAUTH_ERROR_CODES]);
      expect(serverError.headers).toHaveProperty('Cache-Control');
    },
  );

  it('serves GET /metrics in the Prometheus text format', async () => {
    const answer = await call(server, pki, { method: 'GET', path: '/metrics' });

    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe(register.contentType);
    expect(answer.text).toContain('countersign_tokens_issued_total');
  });
});
