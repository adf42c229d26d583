import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import {
  CONNECT_SUBJECT,
  createListenerTestPki,
  type ListenerTestPki,
  type TestCredential,
} from './support/listener-pki.js';
import { send, startListener, type RunningListener } from './support/listener-harness.js';

const AUDIENCE = 'https://listener.countersign.test/connect';
const SCOPE = 'connect:events';
const CLIENT_ID = 'docusign-connect';
const CLIENT_SECRET = 'interop-client-secret-0123456789abcdef';

/** Asks oidc-provider's token endpoint for a client-credentials token over mTLS. */
function fetchToken(
  port: number,
  pki: ListenerTestPki,
  client: TestCredential,
): Promise<Record<string, unknown>> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPE }).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/token',
        method: 'POST',
        agent: false,
        ca: pki.caBundlePem,
        cert: client.certPem,
        key: client.keyPem,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('interop: oidc-provider v9 certificate-bound JWT access tokens', () => {
  let dir: string;
  let pki: ListenerTestPki;
  let server: Server;
  let port: number;
  let listener: RunningListener;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-listener-interop-'));
    pki = await createListenerTestPki(dir);

    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const signingKey = {
      ...(await exportJWK(privateKey)),
      kid: 'op-es256',
      alg: 'ES256',
      use: 'sig',
    };

    server = createServer({
      key: readFileSync(pki.serverKeyFile),
      cert: readFileSync(pki.serverCertFile),
      ca: pki.caBundlePem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    const issuer = `https://127.0.0.1:${port}`;

    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          scope: SCOPE,
          tls_client_certificate_bound_access_tokens: true,
          id_token_signed_response_alg: 'ES256',
        },
      ],
      jwks: { keys: [signingKey] },
      scopes: [SCOPE],
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => AUDIENCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({
            scope: SCOPE,
            audience: AUDIENCE,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg: 'ES256' } },
          }),
        },
        mTLS: {
          enabled: true,
          certificateBoundAccessTokens: true,
          getCertificate: (ctx: { socket: TLSSocket }) => ctx.socket.getPeerX509Certificate(),
        },
      },
    });
    server.on('request', provider.callback());

    listener = await startListener({
      dir,
      env: {
        LISTENER_TLS_CERT_FILE: pki.serverCertFile,
        LISTENER_TLS_KEY_FILE: pki.serverKeyFile,
        LISTENER_CLIENT_CA_FILE: pki.caBundleFile,
      },
      profiles: {
        docusign: {
          checks: ['mtls', 'oauth', 'bound-token'],
          certificate: { subjects: [{ subjectDn: CONNECT_SUBJECT }] },
          token: {
            issuer,
            audience: AUDIENCE,
            requiredScope: SCOPE,
            jwksUri: `${issuer}/jwks`,
            jwksCaFile: pki.caBundleFile,
          },
        },
      },
    });
  });

  afterAll(async () => {
    await listener?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  function deliver(client: TestCredential, token: string) {
    return send({
      port: listener.port,
      path: '/connect/docusign',
      tls: { ca: pki.caBundlePem, client },
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        event: 'envelope-sent',
        generatedDateTime: new Date().toISOString(),
        data: { envelopeId: `interop-${Math.random().toString(36).slice(2)}` },
      }),
    });
  }

  it('accepts a certificate-bound token issued by oidc-provider over the same certificate', async () => {
    const issued = await fetchToken(port, pki, pki.connect);
    expect(issued).toMatchObject({ token_type: 'Bearer' });
    const token = issued.access_token as string;
    const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'));
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    expect(header.typ).toBe('at+jwt');
    expect(claims.cnf).toEqual({ 'x5t#S256': pki.connect.thumbprint });

    const response = await deliver(pki.connect, token);
    expect(response.status).toBe(200);
    expect(response.json.status).toBe('enqueued');
  });

  it('refuses the oidc-provider token when it is presented over another certificate', async () => {
    const issued = await fetchToken(port, pki, pki.connect);
    const response = await deliver(pki.connectRotated, issued.access_token as string);
    expect(response.status).toBe(401);
    expect(response.json.error).toBe('token_binding_mismatch');
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  });
});
