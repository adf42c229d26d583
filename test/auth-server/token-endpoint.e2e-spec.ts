import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

import { hashSecret, parseCertificate, thumbprintS256 } from '@countersign/security';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';

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
  jwkWithX5c,
  type AuthTestPki,
  type Issued,
} from './support/test-pki.js';

const AUDIENCE = 'https://listener.countersign.test/connect';
const ODD_ID = 'odd:id+50%é';
const ODD_SECRET = 'p%ss+wo:rd é~*';

describe('auth-server token endpoint (RFC 6749, RFC 8705, RFC 9068) over real HTTPS', () => {
  let pki: AuthTestPki;
  let server: RunningAuthServer;

  const token = (
    parameters: Record<string, string> | [string, string][],
    options: { authorization?: string; clientCert?: Issued; contentType?: string } = {},
  ): Promise<HttpAnswer> => {
    const request = form(parameters);
    return call(server, pki, {
      path: '/oauth2/token',
      headers: {
        ...request.headers,
        ...(options.contentType ? { 'content-type': options.contentType } : {}),
        ...(options.authorization ? { authorization: options.authorization } : {}),
      },
      body: request.body,
      clientCert: options.clientCert,
    });
  };
  const basicGrant = () => ({ grant_type: 'client_credentials' });
  const expectNoStore = (answer: HttpAnswer) => {
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers.pragma).toBe('no-cache');
  };
  const expectError = (answer: HttpAnswer, status: number, error: string) => {
    expect({ status: answer.status, error: answer.json.error }).toEqual({ status, error });
    expectNoStore(answer);
  };

  beforeAll(async () => {
    pki = await createAuthTestPki();
    const base = { scope: 'connect:events connect:admin', audience: AUDIENCE };
    server = await startAuthServer({
      pki,
      env: { AUTH_RATE_LIMIT_MAX_FAILURES: '10000' },
      clients: [
        {
          ...base,
          client_id: 'basic-client',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('s3cret-value'),
        },
        {
          ...base,
          client_id: ODD_ID,
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret(ODD_SECRET),
        },
        {
          ...base,
          client_id: 'post-client',
          token_endpoint_auth_method: 'client_secret_post',
          client_secret_hash: await hashSecret('post-secret'),
        },
        {
          ...base,
          client_id: 'pki-client',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: 'C=US,O=Countersign Dev,CN=connect.countersign.test',
          tls_client_certificate_bound_access_tokens: true,
        },
        {
          ...base,
          client_id: 'pki-san-client',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_dns: 'connect.countersign.test',
        },
        {
          ...base,
          client_id: 'self-client',
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks: { keys: [jwkWithX5c(pki.selfSigned)] },
          tls_client_certificate_bound_access_tokens: true,
        },
        {
          ...base,
          client_id: 'code-only-client',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('code-secret'),
          grant_types: ['authorization_code'],
        },
        {
          ...base,
          client_id: 'bound-basic-client',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('bound-secret'),
          tls_client_certificate_bound_access_tokens: true,
        },
      ],
    });
  });

  afterAll(async () => {
    await server?.close();
    removeAuthTestPki(pki);
  });

  it('T1: computes x5t#S256 of the RFC 8705 appendix A certificate as the RFC says', () => {
    const pem = readFileSync(resolve('test/fixtures/certs/rfc8705-appendix-a.pem'), 'utf8');
    const cert = parseCertificate(pem);
    if (!cert.ok) throw new Error('fixture must parse');
    expect(thumbprintS256(cert.evidence)).toBe('A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0');
  });

  describe('client secrets', () => {
    it('T2: accepts a Basic id and secret holding %, +, :, ~, * and non-ASCII, encoded per Appendix B', async () => {
      const answer = await token(basicGrant(), { authorization: basic(ODD_ID, ODD_SECRET) });
      expect(answer.status).toBe(200);
      expect(decodeJwt(answer.json.access_token as string).client_id).toBe(ODD_ID);
    });

    it('T2: refuses the same secret sent without the Appendix B encoding', async () => {
      const raw = `Basic ${Buffer.from(`${ODD_ID}:${ODD_SECRET}`).toString('base64')}`;
      expectError(await token(basicGrant(), { authorization: raw }), 401, 'invalid_client');
    });

    it('T3: refuses a Basic header together with client_secret in the body as invalid_request', async () => {
      const answer = await token(
        { ...basicGrant(), client_secret: 's3cret-value' },
        { authorization: basic('basic-client', 's3cret-value') },
      );
      expectError(answer, 400, 'invalid_request');
    });

    it('refuses a body client_id that differs from the Basic username', async () => {
      const answer = await token(
        { ...basicGrant(), client_id: 'post-client' },
        { authorization: basic('basic-client', 's3cret-value') },
      );
      expectError(answer, 400, 'invalid_request');
    });

    it('T4: answers a wrong Basic secret with 401 invalid_client and a Basic challenge', async () => {
      const answer = await token(basicGrant(), { authorization: basic('basic-client', 'wrong') });
      expectError(answer, 401, 'invalid_client');
      expect(answer.headers['www-authenticate']).toBe(`Basic realm="${server.issuer}"`);
      expect(answer.json.error_description).toBe('client authentication failed');
    });

    it('T5: answers a wrong client_secret_post secret with 400 invalid_client and no challenge', async () => {
      const answer = await token({
        ...basicGrant(),
        client_id: 'post-client',
        client_secret: 'wrong',
      });
      expectError(answer, 400, 'invalid_client');
      expect(answer.headers['www-authenticate']).toBeUndefined();
    });

    it('issues a token to a client_secret_post client with its right secret', async () => {
      const answer = await token({
        ...basicGrant(),
        client_id: 'post-client',
        client_secret: 'post-secret',
      });
      expect(answer.status).toBe(200);
    });

    it('refuses a client registered for post that authenticates with Basic', async () => {
      const answer = await token(basicGrant(), {
        authorization: basic('post-client', 'post-secret'),
      });
      expectError(answer, 401, 'invalid_client');
    });

    it('refuses an unknown client with the same answer as a wrong secret', async () => {
      const unknown = await token(basicGrant(), { authorization: basic('nobody', 'whatever') });
      const wrong = await token(basicGrant(), { authorization: basic('basic-client', 'whatever') });
      expectError(unknown, 401, 'invalid_client');
      expect(unknown.json).toEqual(wrong.json);
    });

    it('takes as long to refuse an unknown client as a wrong secret (one slow hash each)', async () => {
      const timed = async (authorization: string) => {
        const started = performance.now();
        const answer = await token(basicGrant(), { authorization });
        expect(answer.status).toBe(401);
        return performance.now() - started;
      };
      const median = (values: number[]) => values.sort((a, b) => a - b)[2];
      const unknown: number[] = [];
      const wrong: number[] = [];
      for (let round = 0; round < 5; round += 1) {
        unknown.push(await timed(basic(`nobody-${round}`, 'guess')));
        wrong.push(await timed(basic('basic-client', 'guess')));
      }
      // without the dummy hash an unknown client would answer tens of times faster
      const ratio = median(unknown) / median(wrong);
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    });

    it('refuses a request with no client authentication at all', async () => {
      expectError(await token(basicGrant()), 400, 'invalid_request');
      expectError(
        await token({ ...basicGrant(), client_id: 'basic-client' }),
        400,
        'invalid_client',
      );
    });

    it('refuses an Authorization header with another scheme with 401 and a Basic challenge', async () => {
      const answer = await token(basicGrant(), { authorization: 'Bearer abc' });
      expectError(answer, 401, 'invalid_client');
      expect(answer.headers['www-authenticate']).toMatch(/^Basic realm=/);
    });

    it('never takes client credentials from the query string', async () => {
      const request = form(basicGrant());
      const answer = await call(server, pki, {
        path: '/oauth2/token?client_id=post-client&client_secret=post-secret',
        headers: request.headers,
        body: request.body,
      });
      expectError(answer, 400, 'invalid_request');
    });
  });

  describe('request parsing', () => {
    const auth = { authorization: basic('basic-client', 's3cret-value') };

    it('T6: refuses a repeated grant_type as invalid_request', async () => {
      const answer = await token(
        [
          ['grant_type', 'client_credentials'],
          ['grant_type', 'client_credentials'],
        ],
        auth,
      );
      expectError(answer, 400, 'invalid_request');
    });

    it('T6: refuses a missing grant_type as invalid_request', async () => {
      expectError(await token({ scope: 'connect:events' }, auth), 400, 'invalid_request');
    });

    it('T6: treats an empty grant_type as missing', async () => {
      expectError(await token({ grant_type: '' }, auth), 400, 'invalid_request');
    });

    it('T6: refuses grant_type=password as unsupported_grant_type', async () => {
      const answer = await token({ grant_type: 'password', username: 'u', password: 'p' }, auth);
      expectError(answer, 400, 'unsupported_grant_type');
    });

    it('refuses a JSON body as invalid_request', async () => {
      const answer = await call(server, pki, {
        path: '/oauth2/token',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ grant_type: 'client_credentials' }),
      });
      expectError(answer, 400, 'invalid_request');
    });

    it.each([
      ['a declared length', {}],
      ['chunked transfer, no declared length', { 'transfer-encoding': 'chunked' }],
    ])('refuses a form over 16 KiB sent with %s as invalid_request', async (_, framing) => {
      const answer = await call(server, pki, {
        path: '/oauth2/token',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...framing,
          ...auth,
        },
        body: `grant_type=client_credentials&padding=${'x'.repeat(20 * 1024)}`,
      });
      expectError(answer, 400, 'invalid_request');
    });

    it('refuses GET on the token endpoint with 405 and Allow: POST', async () => {
      const answer = await call(server, pki, { method: 'GET', path: '/oauth2/token' });
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('POST');
      expectNoStore(answer);
    });

    it('ignores unknown parameters', async () => {
      expect((await token({ ...basicGrant(), unknown_thing: 'x' }, auth)).status).toBe(200);
    });

    it('T7: refuses a client whose grant_types lack client_credentials as unauthorized_client', async () => {
      const answer = await token(basicGrant(), {
        authorization: basic('code-only-client', 'code-secret'),
      });
      expectError(answer, 400, 'unauthorized_client');
    });

    it('T8: refuses a scope the client is not registered for as invalid_scope', async () => {
      expectError(
        await token({ ...basicGrant(), scope: 'connect:events other' }, auth),
        400,
        'invalid_scope',
      );
    });

    it('T8: refuses an unknown resource as invalid_target', async () => {
      const answer = await token({ ...basicGrant(), resource: 'https://elsewhere.test/' }, auth);
      expectError(answer, 400, 'invalid_target');
    });

    it('T8: refuses two resources for one token as invalid_target', async () => {
      const answer = await token(
        [
          ['grant_type', 'client_credentials'],
          ['resource', AUDIENCE],
          ['resource', 'https://elsewhere.test/'],
        ],
        auth,
      );
      expectError(answer, 400, 'invalid_target');
    });

    it('accepts the client audience as resource and a subset of its scopes', async () => {
      const answer = await token(
        { ...basicGrant(), resource: AUDIENCE, scope: 'connect:events' },
        auth,
      );
      expect(answer.status).toBe(200);
      expect(answer.json.scope).toBe('connect:events');
      expect(decodeJwt(answer.json.access_token as string).aud).toBe(AUDIENCE);
    });

    it('grants every registered scope when none is requested', async () => {
      const answer = await token(basicGrant(), auth);
      expect(answer.json.scope).toBe('connect:events connect:admin');
    });
  });

  describe('mutual-TLS client authentication', () => {
    const pkiForm = { ...basicGrant(), client_id: 'pki-client' };

    it('T9: refuses tls_client_auth without a client certificate as invalid_client', async () => {
      expectError(await token(pkiForm), 400, 'invalid_client');
    });

    it('T9: refuses a certificate with the right subject from an untrusted CA', async () => {
      expectError(await token(pkiForm, { clientCert: pki.untrusted }), 400, 'invalid_client');
    });

    it('T9: refuses a certificate from the right CA with the wrong subject', async () => {
      expectError(await token(pkiForm, { clientCert: pki.otherSubject }), 400, 'invalid_client');
    });

    it('T9: refuses an expired certificate from the right CA with the right subject', async () => {
      expectError(await token(pkiForm, { clientCert: pki.expired }), 400, 'invalid_client');
    });

    it('T9: refuses a certificate from the right CA that is not valid yet', async () => {
      expectError(await token(pkiForm, { clientCert: pki.notYetValid }), 400, 'invalid_client');
    });

    it('T9: refuses the right certificate when client_id is missing, as invalid_request', async () => {
      expectError(await token(basicGrant(), { clientCert: pki.connect }), 400, 'invalid_request');
    });

    it('T9: refuses a self-signed certificate for a tls_client_auth client', async () => {
      expectError(await token(pkiForm, { clientCert: pki.selfSigned }), 400, 'invalid_client');
    });

    it('issues a bound token for the right CA and subject DN (RDNs in another order)', async () => {
      const answer = await token(pkiForm, { clientCert: pki.connect });
      expect(answer.status).toBe(200);
      const claims = decodeJwt(answer.json.access_token as string);
      expect(claims.cnf).toEqual({ 'x5t#S256': thumbprintS256(pki.connect.cert) });
    });

    it('issues a token when the registered dNSName SAN matches', async () => {
      const answer = await token(
        { ...basicGrant(), client_id: 'pki-san-client' },
        { clientCert: pki.connect },
      );
      expect(answer.status).toBe(200);
    });

    it('refuses a client secret sent for a tls_client_auth client', async () => {
      const answer = await token(
        { ...pkiForm, client_secret: 'anything' },
        { clientCert: pki.connect },
      );
      expectError(answer, 400, 'invalid_client');
    });

    it('T10: issues a bound token for the registered self-signed certificate', async () => {
      const answer = await token(
        { ...basicGrant(), client_id: 'self-client' },
        { clientCert: pki.selfSigned },
      );
      expect(answer.status).toBe(200);
      expect(decodeJwt(answer.json.access_token as string).cnf).toEqual({
        'x5t#S256': thumbprintS256(pki.selfSigned.cert),
      });
    });

    it('T10: refuses an unregistered self-signed certificate with the same subject', async () => {
      const answer = await token(
        { ...basicGrant(), client_id: 'self-client' },
        { clientCert: pki.otherSelfSigned },
      );
      expectError(answer, 400, 'invalid_client');
    });

    it('T10: refuses self_signed_tls_client_auth without a certificate', async () => {
      expectError(
        await token({ ...basicGrant(), client_id: 'self-client' }),
        400,
        'invalid_client',
      );
    });
  });

  describe('certificate-bound tokens', () => {
    it('T11: refuses a bound-token client that presents no certificate with invalid_grant', async () => {
      const answer = await token(basicGrant(), {
        authorization: basic('bound-basic-client', 'bound-secret'),
      });
      expectError(answer, 400, 'invalid_grant');
    });

    it('binds a secret-authenticated token to the certificate on the connection (binding is not authentication)', async () => {
      const answer = await token(basicGrant(), {
        authorization: basic('bound-basic-client', 'bound-secret'),
        clientCert: pki.untrusted,
      });
      expect(answer.status).toBe(200);
      expect(decodeJwt(answer.json.access_token as string).cnf).toEqual({
        'x5t#S256': thumbprintS256(pki.untrusted.cert),
      });
    });

    it('issues an unbound token to a secret client without a certificate when binding is not required', async () => {
      const answer = await token(basicGrant(), {
        authorization: basic('basic-client', 's3cret-value'),
      });
      expect(decodeJwt(answer.json.access_token as string).cnf).toBeUndefined();
    });
  });

  describe('responses and tokens', () => {
    it('T12: answers with Bearer, a numeric expires_in, a string scope, no refresh token, no-store', async () => {
      const answer = await token(basicGrant(), {
        authorization: basic('basic-client', 's3cret-value'),
      });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expectNoStore(answer);
      expect(answer.json.token_type).toBe('Bearer');
      expect(answer.json.expires_in).toBe(300);
      expect(typeof answer.json.scope).toBe('string');
      expect(answer.json).not.toHaveProperty('refresh_token');
      expect(Object.keys(answer.json).sort()).toEqual([
        'access_token',
        'expires_in',
        'scope',
        'token_type',
      ]);
    });

    it('T13: signs an RFC 9068 JWT with typ at+jwt, kid and every required claim', async () => {
      const answer = await token(
        { ...basicGrant(), client_id: 'pki-client' },
        { clientCert: pki.connect },
      );
      const accessToken = answer.json.access_token as string;
      const header = decodeProtectedHeader(accessToken);
      expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
      expect(typeof header.kid).toBe('string');

      const jwks = await call(server, pki, { method: 'GET', path: '/oauth2/jwks' });
      const { payload } = await jwtVerify(accessToken, createLocalJWKSet(jwks.json as never), {
        issuer: server.issuer,
        audience: AUDIENCE,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        requiredClaims: ['iss', 'aud', 'sub', 'client_id', 'iat', 'exp', 'jti'],
      });
      expect(payload).toMatchObject({ sub: 'pki-client', client_id: 'pki-client' });
      expect(payload.exp! - payload.iat!).toBe(300);
      expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
      expect(payload.cnf).toEqual({ 'x5t#S256': thumbprintS256(pki.connect.cert) });
    });

    it('gives every token its own jti', async () => {
      const auth = { authorization: basic('basic-client', 's3cret-value') };
      const first = decodeJwt((await token(basicGrant(), auth)).json.access_token as string);
      const second = decodeJwt((await token(basicGrant(), auth)).json.access_token as string);
      expect(first.jti).not.toBe(second.jti);
    });

    it('T14: publishes RFC 8414 metadata with the exact issuer and the four methods', async () => {
      const answer = await call(server, pki, {
        method: 'GET',
        path: '/.well-known/oauth-authorization-server',
      });
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({
        issuer: server.issuer,
        token_endpoint: `${server.issuer}/oauth2/token`,
        jwks_uri: `${server.issuer}/oauth2/jwks`,
        introspection_endpoint: `${server.issuer}/oauth2/introspect`,
        revocation_endpoint: `${server.issuer}/oauth2/revoke`,
        grant_types_supported: ['client_credentials'],
        tls_client_certificate_bound_access_tokens: true,
      });
      expect([...(answer.json.token_endpoint_auth_methods_supported as string[])].sort()).toEqual([
        'client_secret_basic',
        'client_secret_post',
        'self_signed_tls_client_auth',
        'tls_client_auth',
      ]);
      expect(answer.json).not.toHaveProperty('response_types_supported');
    });

    it('T15: publishes a JWKS with public members only, a unique kid, alg and use sig', async () => {
      const answer = await call(server, pki, { method: 'GET', path: '/oauth2/jwks' });
      const keys = answer.json.keys as Record<string, unknown>[];
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
          expect(key).not.toHaveProperty(secret);
        }
        expect(key).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig' });
      }
      expect(new Set(keys.map((key) => key.kid)).size).toBe(keys.length);
      expect(answer.headers['cache-control']).toMatch(/max-age=\d+/);
    });
  });

  describe('operations', () => {
    it('answers liveness and readiness (Redis up, a key can sign)', async () => {
      expect((await call(server, pki, { method: 'GET', path: '/health/live' })).status).toBe(200);
      const ready = await call(server, pki, { method: 'GET', path: '/health/ready' });
      expect(ready.status).toBe(200);
      expect(ready.json.checks).toEqual({ redis: 'up', signingKeys: 'up' });
    });

    it('refused each mTLS case above for its own reason (read back from the metrics)', async () => {
      const metrics = (await call(server, pki, { method: 'GET', path: '/metrics' })).text;
      const refused = (clientId: string, reason: string) =>
        new RegExp(
          `countersign_token_requests_refused_total\\{client_id="${clientId}",reason="${reason}"`,
        );
      expect(metrics).toMatch(refused('pki-client', 'certificate_missing'));
      expect(metrics).toMatch(refused('pki-client', 'certificate_not_trusted'));
      expect(metrics).toMatch(refused('pki-client', 'certificate_subject_mismatch'));
      expect(metrics).toMatch(refused('pki-client', 'certificate_expired'));
      expect(metrics).toMatch(refused('pki-client', 'certificate_not_yet_valid'));
      expect(metrics).toMatch(refused('pki-client', 'client_auth_method_mismatch'));
      expect(metrics).toMatch(refused('self-client', 'certificate_not_pinned'));
      expect(metrics).toMatch(refused('bound-basic-client', 'bound_token_without_certificate'));
      expect(metrics).toMatch(refused('basic-client', 'client_secret_mismatch'));
      expect(metrics).toMatch(refused('post-client', 'client_auth_method_mismatch'));
    });

    it('counts issued tokens per client and refusals per reason, with unknown ids collapsed', async () => {
      await token(basicGrant(), { authorization: basic('never-registered-42', 'x') });
      const metrics = await call(server, pki, { method: 'GET', path: '/metrics' });
      expect(metrics.text).toMatch(
        /countersign_tokens_issued_total\{client_id="basic-client"[^}]*\} [1-9]/,
      );
      expect(metrics.text).toMatch(
        /countersign_token_requests_refused_total\{client_id="unknown",reason="client_unknown"[^}]*\} [1-9]/,
      );
      expect(metrics.text).not.toContain('never-registered-42');
      expect(metrics.text).not.toContain('s3cret-value');
    });
  });
});
