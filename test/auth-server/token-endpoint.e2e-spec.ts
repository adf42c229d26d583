import { hashSecret } from '@countersign/security';
import { decodeJwt, decodeProtectedHeader } from 'jose';

import {
  basic,
  call,
  form,
  startAuthServer,
  type RunningAuthServer,
} from './support/auth-server-harness.js';
import { createAuthTestPki, type AuthTestPki } from './support/test-pki.js';

const AUDIENCE = 'https://listener.countersign.test/connect';

describe('token endpoint (smoke)', () => {
  let pki: AuthTestPki;
  let server: RunningAuthServer;

  beforeAll(async () => {
    pki = await createAuthTestPki();
    server = await startAuthServer({
      pki,
      clients: [
        {
          client_id: 'basic-client',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashSecret('s3cret-value'),
          scope: 'connect:events',
          audience: AUDIENCE,
        },
      ],
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('issues a token for a client_secret_basic client', async () => {
    const request = form({ grant_type: 'client_credentials' });
    const answer = await call(server, pki, {
      path: '/oauth2/token',
      headers: { ...request.headers, authorization: basic('basic-client', 's3cret-value') },
      body: request.body,
    });
    expect(answer.status).toBe(200);
    expect(answer.json.token_type).toBe('Bearer');
    const token = answer.json.access_token as string;
    expect(decodeProtectedHeader(token).typ).toBe('at+jwt');
    expect(decodeJwt(token).aud).toBe(AUDIENCE);
  });
});
