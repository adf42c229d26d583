import { hashSecret } from '@countersign/security';
import { decodeProtectedHeader } from 'jose';

import { createSigningKey } from '../../apps/auth-server/src/keys/key-directory.js';
import {
  basic,
  call,
  form,
  startAuthServer,
  type HttpAnswer,
  type RunningAuthServer,
} from './support/auth-server-harness.js';
import { createAuthTestPki, removeAuthTestPki, type AuthTestPki } from './support/test-pki.js';

const AUDIENCE = 'https://listener.countersign.test/connect';

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('auth-server signing key rotation and failed-authentication rate limit', () => {
  let pki: AuthTestPki;
  let server: RunningAuthServer;

  const requestToken = (authorization: string, localAddress?: string): Promise<HttpAnswer> => {
    const request = form({ grant_type: 'client_credentials' });
    return call(server, pki, {
      path: '/oauth2/token',
      headers: { ...request.headers, authorization },
      body: request.body,
      localAddress,
    });
  };
  const publishedKids = async () => {
    const jwks = await call(server, pki, { method: 'GET', path: '/oauth2/jwks' });
    return (jwks.json.keys as { kid: string }[]).map((key) => key.kid);
  };

  beforeAll(async () => {
    pki = await createAuthTestPki();
    const base = { scope: 'connect:events', audience: AUDIENCE };
    server = await startAuthServer({
      pki,
      env: {
        AUTH_KEYS_RELOAD_SECONDS: '1',
        AUTH_RATE_LIMIT_MAX_FAILURES: '3',
        AUTH_RATE_LIMIT_WINDOW_SECONDS: '60',
      },
      clients: [
        {
          ...base,
          client_id: 'rotating',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('rotating-secret'),
        },
        {
          ...base,
          client_id: 'guessed',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('guessed-secret'),
        },
      ],
    });
  });

  afterAll(async () => {
    await server?.close();
    removeAuthTestPki(pki);
  });

  it('generates a signing key on first start when the keys directory is absent', async () => {
    expect(await publishedKids()).toHaveLength(1);
  });

  it('signs with a rotated key without a restart and keeps the old key published', async () => {
    const auth = basic('rotating', 'rotating-secret');
    const [oldKid] = await publishedKids();
    const before = await requestToken(auth);
    expect(decodeProtectedHeader(before.json.access_token as string).kid).toBe(oldKid);

    const rotated = await createSigningKey(server.keysDir, 'ES256');
    await waitFor(async () => ((await publishedKids()).includes(rotated.kid) ? true : undefined));

    const after = await requestToken(auth);
    expect(decodeProtectedHeader(after.json.access_token as string).kid).toBe(rotated.kid);
    expect(await publishedKids()).toEqual([oldKid, rotated.kid]);

    // a token signed by the retired key still introspects as active
    const introspection = form({ token: before.json.access_token as string });
    const answer = await call(server, pki, {
      path: '/oauth2/introspect',
      headers: { ...introspection.headers, authorization: auth },
      body: introspection.body,
    });
    expect(answer.json.active).toBe(true);
  });

  it('answers 429 with Retry-After once a client_id has failed too often, even with the right secret', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await requestToken(basic('guessed', `wrong-${attempt}`))).status).toBe(401);
    }
    const limited = await requestToken(basic('guessed', 'guessed-secret'));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.headers['cache-control']).toBe('no-store');
    expect(limited.json.error).toBe('temporarily_unavailable');
  });

  it('does not lock the client out from another address: failures count per client and address', async () => {
    const elsewhere = await requestToken(basic('guessed', 'guessed-secret'), '127.0.0.2');
    expect(elsewhere.status).toBe(200);
    expect(typeof elsewhere.json.access_token).toBe('string');
  });

  it('limits per address too: other client ids from the same address are refused', async () => {
    const limited = await requestToken(basic('rotating', 'rotating-secret'));
    expect(limited.status).toBe(429);
  });

  it('does not count successes, and lets requests through again when the window ends', async () => {
    const keys = await server.redis.keys(`${server.prefix}:{auth-failures}:*`);
    expect(keys.length).toBe(2);
    // end the window now instead of waiting 60 s
    await server.redis.del(...keys);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      expect((await requestToken(basic('rotating', 'rotating-secret'))).status).toBe(200);
    }
    expect(await server.redis.keys(`${server.prefix}:{auth-failures}:*`)).toEqual([]);
  });
});

describe('auth-server signing with RS256 (RFC 9068 §2.1: every AS must be able to)', () => {
  let pki: AuthTestPki;
  let server: RunningAuthServer;

  beforeAll(async () => {
    pki = await createAuthTestPki();
    server = await startAuthServer({
      pki,
      env: { AUTH_SIGNING_ALG: 'RS256' },
      clients: [
        {
          client_id: 'rsa',
          token_endpoint_auth_method: 'client_secret_post',
          client_secret_hash: await hashSecret('rsa-secret'),
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

  it('signs tokens with an RS256 key published as an RSA JWK with public members only', async () => {
    const request = form({
      grant_type: 'client_credentials',
      client_id: 'rsa',
      client_secret: 'rsa-secret',
    });
    const answer = await call(server, pki, {
      path: '/oauth2/token',
      headers: request.headers,
      body: request.body,
    });
    const header = decodeProtectedHeader(answer.json.access_token as string);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });

    const jwks = await call(server, pki, { method: 'GET', path: '/oauth2/jwks' });
    const keys = jwks.json.keys as Record<string, unknown>[];
    expect(keys).toHaveLength(1);
    expect(Object.keys(keys[0]).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: header.kid });
  });
});
