import { randomUUID } from 'node:crypto';

import { hashSecret, thumbprintS256 } from '@countersign/security';
import { generateKeyPair, importJWK, SignJWT } from 'jose';

import { readSigningKeys } from '../../apps/auth-server/src/keys/key-directory.js';
import {
  basic,
  call,
  form,
  startAuthServer,
  type HttpAnswer,
  type RunningAuthServer,
} from './support/auth-server-harness.js';
import {
  createAuthTestPki,
  removeAuthTestPki,
  type AuthTestPki,
  type Issued,
} from './support/test-pki.js';

const AUDIENCE = 'https://listener.countersign.test/connect';

describe('auth-server introspection (RFC 7662) and revocation (RFC 7009)', () => {
  let pki: AuthTestPki;
  let server: RunningAuthServer;

  const post = (
    path: string,
    parameters: Record<string, string>,
    options: { authorization?: string; clientCert?: Issued } = {},
  ): Promise<HttpAnswer> => {
    const request = form(parameters);
    return call(server, pki, {
      path,
      headers: {
        ...request.headers,
        ...(options.authorization ? { authorization: options.authorization } : {}),
      },
      body: request.body,
      clientCert: options.clientCert,
    });
  };
  const asConnect = { authorization: basic('connect', 'connect-secret') };
  const asListener = { authorization: basic('listener', 'listener-secret') };
  const issueToken = async (options: { clientCert?: Issued } = {}) => {
    const answer = await post(
      '/oauth2/token',
      { grant_type: 'client_credentials' },
      {
        ...asConnect,
        ...options,
      },
    );
    expect(answer.status).toBe(200);
    return answer.json.access_token as string;
  };
  const signWithServerKey = async (claims: Record<string, unknown>, expiresAt: number) => {
    const [stored] = await readSigningKeys(server.keysDir);
    const key = await importJWK(stored.privateJwk, stored.alg);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: stored.alg, typ: 'at+jwt', kid: stored.kid })
      .setIssuedAt(expiresAt - 300)
      .setExpirationTime(expiresAt)
      .setJti(randomUUID())
      .setSubject('connect')
      .setAudience(AUDIENCE)
      .sign(key);
  };

  beforeAll(async () => {
    pki = await createAuthTestPki();
    const base = { scope: 'connect:events', audience: AUDIENCE };
    server = await startAuthServer({
      pki,
      env: { AUTH_RATE_LIMIT_MAX_FAILURES: '10000' },
      clients: [
        {
          ...base,
          client_id: 'connect',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('connect-secret'),
        },
        {
          ...base,
          client_id: 'listener',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('listener-secret'),
        },
        {
          ...base,
          client_id: 'listener-mtls',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_dns: 'connect.countersign.test',
        },
      ],
    });
  });

  afterAll(async () => {
    await server?.close();
    removeAuthTestPki(pki);
  });

  it('requires client authentication to introspect', async () => {
    const accessToken = await issueToken();
    const answer = await post('/oauth2/introspect', { token: accessToken });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe('invalid_request');
    const wrong = await post(
      '/oauth2/introspect',
      { token: accessToken },
      { authorization: basic('listener', 'nope') },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
  });

  it('introspects a live token as active, with its claims and no-store', async () => {
    const accessToken = await issueToken();
    const answer = await post('/oauth2/introspect', { token: accessToken }, asListener);
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers.pragma).toBe('no-cache');
    expect(answer.json).toMatchObject({
      active: true,
      token_type: 'Bearer',
      iss: server.issuer,
      sub: 'connect',
      aud: AUDIENCE,
      client_id: 'connect',
      scope: 'connect:events',
    });
    expect(answer.json).not.toHaveProperty('cnf');
  });

  it('includes cnf for a bound token (RFC 8705 §3.2)', async () => {
    const accessToken = await issueToken({ clientCert: pki.connect });
    const answer = await post('/oauth2/introspect', { token: accessToken }, asListener);
    expect(answer.json.cnf).toEqual({ 'x5t#S256': thumbprintS256(pki.connect.cert) });
  });

  it('lets an mTLS client introspect (client authentication applies to introspection too)', async () => {
    const accessToken = await issueToken();
    const answer = await post(
      '/oauth2/introspect',
      { token: accessToken, client_id: 'listener-mtls' },
      { clientCert: pki.connect },
    );
    expect(answer.json.active).toBe(true);
  });

  it.each([
    ['garbage', 'not-a-jwt'],
    ['a JWT-looking string', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'],
  ])('reports %s as inactive with no other member', async (_label, value) => {
    const answer = await post('/oauth2/introspect', { token: value }, asListener);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ active: false });
  });

  it('reports an expired token of this issuer as inactive', async () => {
    const expired = await signWithServerKey(
      { iss: server.issuer, client_id: 'connect', scope: 'connect:events' },
      Math.floor(Date.now() / 1000) - 10,
    );
    const answer = await post('/oauth2/introspect', { token: expired }, asListener);
    expect(answer.json).toEqual({ active: false });
  });

  it('reports a token naming another issuer as inactive, even when our key signed it', async () => {
    const foreign = await signWithServerKey(
      { iss: 'https://other-issuer.test', client_id: 'connect', scope: 'connect:events' },
      Math.floor(Date.now() / 1000) + 300,
    );
    const answer = await post('/oauth2/introspect', { token: foreign }, asListener);
    expect(answer.json).toEqual({ active: false });
  });

  it('reports a token signed by a foreign key under our kid as inactive', async () => {
    const [stored] = await readSigningKeys(server.keysDir);
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ client_id: 'connect' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: stored.kid })
      .setIssuer(server.issuer)
      .setAudience(AUDIENCE)
      .setSubject('connect')
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti(randomUUID())
      .sign(privateKey);
    const answer = await post('/oauth2/introspect', { token: forged }, asListener);
    expect(answer.json).toEqual({ active: false });
  });

  it('revokes a token: 200, then introspection reports it inactive', async () => {
    const accessToken = await issueToken();
    const revoked = await post('/oauth2/revoke', { token: accessToken }, asConnect);
    expect(revoked.status).toBe(200);
    expect(revoked.headers['cache-control']).toBe('no-store');

    const answer = await post('/oauth2/introspect', { token: accessToken }, asListener);
    expect(answer.json).toEqual({ active: false });
  });

  it('remembers the revoked jti in Redis until the token would have expired', async () => {
    const accessToken = await issueToken();
    await post('/oauth2/revoke', { token: accessToken }, asConnect);
    const keys = await server.redis.keys(`${server.prefix}:revoked-token:*`);
    expect(keys.length).toBeGreaterThan(0);
    const ttls = await Promise.all(keys.map((key) => server.redis.ttl(key)));
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300);
    }
  });

  it('answers 200 for revoking an unknown or invalid token', async () => {
    const answer = await post('/oauth2/revoke', { token: 'garbage' }, asConnect);
    expect(answer.status).toBe(200);
  });

  it("refuses to revoke another client's token and leaves it active", async () => {
    const accessToken = await issueToken();
    const answer = await post('/oauth2/revoke', { token: accessToken }, asListener);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe('invalid_request');
    const still = await post('/oauth2/introspect', { token: accessToken }, asListener);
    expect(still.json.active).toBe(true);
  });

  it('requires client authentication to revoke', async () => {
    const accessToken = await issueToken();
    const answer = await post('/oauth2/revoke', { token: accessToken });
    expect(answer.status).toBe(400);
    const still = await post('/oauth2/introspect', { token: accessToken }, asListener);
    expect(still.json.active).toBe(true);
  });

  it('refuses introspection without a token parameter as invalid_request', async () => {
    const answer = await post('/oauth2/introspect', {}, asListener);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe('invalid_request');
  });
});
