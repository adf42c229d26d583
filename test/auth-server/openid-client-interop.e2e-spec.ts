import { hashSecret, thumbprintS256 } from '@countersign/security';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';

import { startAuthServer, type RunningAuthServer } from './support/auth-server-harness.js';
import {
  createAuthTestPki,
  removeAuthTestPki,
  type AuthTestPki,
  type Issued,
} from './support/test-pki.js';

const AUDIENCE = 'https://listener.countersign.test/connect';

describe('interop: openid-client v6 against the auth-server', () => {
  let pki: AuthTestPki;
  let server: RunningAuthServer;
  const agents: Agent[] = [];

  // openid-client speaks fetch; undici's Agent carries the CA and the client certificate
  const fetchWith = (clientCert?: Issued): client.CustomFetch => {
    const agent = new Agent({
      connect: { ca: pki.serverCaPem, cert: clientCert?.certPem, key: clientCert?.keyPem },
    });
    agents.push(agent);
    return (url, options) => undiciFetch(url, { ...options, dispatcher: agent });
  };

  beforeAll(async () => {
    pki = await createAuthTestPki();
    const base = { scope: 'connect:events', audience: AUDIENCE };
    server = await startAuthServer({
      pki,
      clients: [
        {
          ...base,
          client_id: 'interop-basic',
          token_endpoint_auth_method: 'client_secret_basic',
          // Appendix B characters: openid-client form-encodes before base64
          client_secret_hash: await hashSecret('interop %+: secret'),
        },
        {
          ...base,
          client_id: 'interop-post',
          token_endpoint_auth_method: 'client_secret_post',
          client_secret_hash: await hashSecret('interop-post-secret'),
        },
        {
          ...base,
          client_id: 'interop-mtls',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: 'CN=connect.countersign.test,O=Countersign Dev,C=US',
          tls_client_certificate_bound_access_tokens: true,
        },
      ],
    });
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    await server?.close();
    removeAuthTestPki(pki);
  });

  const discover = (clientId: string, auth: client.ClientAuth, clientCert?: Issued) =>
    client.discovery(new URL(server.issuer), clientId, undefined, auth, {
      algorithm: 'oauth2',
      [client.customFetch]: fetchWith(clientCert),
    });

  it('discovers the RFC 8414 metadata and keeps the exact issuer', async () => {
    const config = await discover('interop-basic', client.ClientSecretBasic('interop %+: secret'));
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(server.issuer);
    expect(metadata.token_endpoint).toBe(`${server.issuer}/oauth2/token`);
    expect(metadata.tls_client_certificate_bound_access_tokens).toBe(true);
  });

  it('gets a token with ClientSecretBasic (secret holding %, + and :)', async () => {
    const config = await discover('interop-basic', client.ClientSecretBasic('interop %+: secret'));
    config[client.customFetch] = fetchWith();
    const tokens = await client.clientCredentialsGrant(config, { scope: 'connect:events' });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.expires_in).toBe(300);
    expect(decodeJwt(tokens.access_token).client_id).toBe('interop-basic');
  });

  it('gets a token with ClientSecretPost', async () => {
    const config = await discover('interop-post', client.ClientSecretPost('interop-post-secret'));
    const tokens = await client.clientCredentialsGrant(config);
    expect(decodeJwt(tokens.access_token).client_id).toBe('interop-post');
  });

  it('surfaces a wrong secret as a 401 with a Basic challenge', async () => {
    const config = await discover('interop-basic', client.ClientSecretBasic('wrong'));
    // a 401 with WWW-Authenticate is reported as the challenge, not the JSON body
    await expect(client.clientCredentialsGrant(config)).rejects.toMatchObject({
      code: 'OAUTH_WWW_AUTHENTICATE_CHALLENGE',
      status: 401,
      cause: [expect.objectContaining({ scheme: 'basic' })],
    });
  });

  it("gets a token with TlsClientAuth whose cnf x5t#S256 is the client certificate's thumbprint", async () => {
    const config = await discover('interop-mtls', client.TlsClientAuth(), pki.connect);
    const tokens = await client.clientCredentialsGrant(config, { resource: AUDIENCE });
    const claims = decodeJwt(tokens.access_token);
    expect(claims.cnf).toEqual({ 'x5t#S256': thumbprintS256(pki.connect.cert) });
    expect(claims.aud).toBe(AUDIENCE);
  });

  it('is refused with TlsClientAuth over a certificate from an untrusted CA', async () => {
    const config = await discover('interop-mtls', client.TlsClientAuth(), pki.untrusted);
    await expect(client.clientCredentialsGrant(config)).rejects.toMatchObject({
      error: 'invalid_client',
    });
  });
});
