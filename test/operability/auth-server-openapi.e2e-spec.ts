import { hashSecret } from '@countersign/security';

import {
  basic,
  call,
  form,
  startAuthServer,
  type RunningAuthServer,
} from '../auth-server/support/auth-server-harness.js';
import {
  createAuthTestPki,
  removeAuthTestPki,
  type AuthTestPki,
} from '../auth-server/support/test-pki.js';
import { operationsOf, validOpenApiDocument } from './support/openapi.js';

describe('auth-server OpenAPI document', () => {
  let pki: AuthTestPki;
  let server: RunningAuthServer;

  beforeAll(async () => {
    pki = await createAuthTestPki();
    server = await startAuthServer({
      pki,
      clients: [
        {
          client_id: 'doc-client',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('doc-secret'),
          scope: 'connect:events',
          audience: 'https://listener.countersign.test/connect',
        },
      ],
    });
  });

  afterAll(async () => {
    await server?.close();
    removeAuthTestPki(pki);
  });

  const openApi = async () => {
    const answer = await call(server, pki, { method: 'GET', path: '/openapi.json' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    return validOpenApiDocument(answer.text);
  };

  it('serves a valid OpenAPI 3.1 document listing every endpoint of the auth-server', async () => {
    const document = await openApi();

    expect(document.openapi).toBe('3.1.0');
    expect(document.info.title).toBe('Countersign auth-server');
    expect(document.servers).toEqual([{ url: server.issuer }]);
    expect(operationsOf(document)).toEqual([
      'GET /.well-known/oauth-authorization-server',
      'GET /health/live',
      'GET /health/ready',
      'GET /metrics',
      'GET /oauth2/jwks',
      'POST /oauth2/introspect',
      'POST /oauth2/revoke',
      'POST /oauth2/token',
    ]);
  });

  it('describes client authentication by Basic secret or client certificate, and every refusal', async () => {
    const document = await openApi();

    expect(document.components?.securitySchemes).toMatchObject({
      client_secret_basic: { type: 'http', scheme: 'basic' },
      tls_client_auth: { type: 'mutualTLS' },
    });
    const token = document.paths?.['/oauth2/token']?.post;
    expect(token?.security).toEqual([{ client_secret_basic: [] }, { tls_client_auth: [] }]);
    expect(Object.keys(token?.requestBody ?? {})).toContain('content');
    expect(Object.keys(token?.responses ?? {}).sort()).toEqual([
      '200',
      '400',
      '401',
      '429',
      '500',
      '503',
    ]);
    const unauthorized = token?.responses['401'] as { headers?: Record<string, unknown> };
    expect(Object.keys(unauthorized.headers ?? {})).toContain('WWW-Authenticate');
    const limited = token?.responses['429'] as { headers?: Record<string, unknown> };
    expect(Object.keys(limited.headers ?? {})).toContain('Retry-After');
  });

  it('leaves the endpoints it documents answering as before', async () => {
    const request = form({ grant_type: 'client_credentials' });
    const issued = await call(server, pki, {
      path: '/oauth2/token',
      headers: { ...request.headers, authorization: basic('doc-client', 'doc-secret') },
      body: request.body,
    });
    expect(issued.status).toBe(200);
    expect(typeof issued.json.access_token).toBe('string');

    const wrongMethod = await call(server, pki, { method: 'GET', path: '/oauth2/token' });
    expect(wrongMethod.status).toBe(405);
    const unknown = await call(server, pki, { method: 'GET', path: '/openapi.yaml' });
    expect(unknown.status).toBe(404);
  });
});
