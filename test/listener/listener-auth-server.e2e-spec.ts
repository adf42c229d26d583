import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Queue } from 'bullmq';
import { DELIVERIES_QUEUE, queuePrefix, type VerifiedEnvelope } from '@countersign/queue';
import { createAuthServer } from '../../apps/auth-server/src/app.js';
import { loadAuthServerConfig } from '../../apps/auth-server/src/config/auth-server.config.js';
import {
  CONNECT_SUBJECT,
  createListenerTestPki,
  type ListenerTestPki,
  type TestCredential,
} from './support/listener-pki.js';
import {
  deleteKeys,
  send,
  startListener,
  type RunningListener,
  type TestResponse,
} from './support/listener-harness.js';

const AUDIENCE = 'https://listener.countersign.test/connect/docusign';
const SCOPE = 'connect:events';
const CLIENT_ID = 'docusign-connect';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe('listener with tokens from the Countersign auth-server', () => {
  let dir: string;
  let pki: ListenerTestPki;
  let prefix: string;
  let authPort: number;
  let authServer: INestApplication;
  let listener: RunningListener;

  /** A form POST to the auth-server over mTLS with `client`'s certificate. */
  function authCall(path: string, form: Record<string, string>, client: TestCredential) {
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: authPort,
          path,
          method: 'POST',
          agent: false,
          ca: pki.caBundlePem,
          cert: client.certPem,
          key: client.keyPem,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')),
          );
        },
      );
      req.on('error', reject);
      req.end(new URLSearchParams(form).toString());
    });
  }

  async function issueToken(client: TestCredential): Promise<string> {
    const answer = await authCall(
      '/oauth2/token',
      { grant_type: 'client_credentials', client_id: CLIENT_ID, scope: SCOPE },
      client,
    );
    if (typeof answer.access_token !== 'string') {
      throw new Error(`no token issued: ${JSON.stringify(answer)}`);
    }
    return answer.access_token;
  }

  function deliver(client: TestCredential, token: string): Promise<TestResponse> {
    return send({
      port: listener.port,
      path: '/connect/docusign',
      tls: { ca: pki.caBundlePem, client },
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        event: 'envelope-completed',
        generatedDateTime: new Date().toISOString(),
        data: { envelopeId: randomUUID() },
      }),
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-listener-auth-'));
    pki = await createListenerTestPki(dir);
    prefix = `cs-test-${randomBytes(6).toString('hex')}`;
    const clientsFile = join(dir, 'clients.json');
    await writeFile(
      clientsFile,
      JSON.stringify({
        clients: [
          {
            client_id: CLIENT_ID,
            token_endpoint_auth_method: 'tls_client_auth',
            tls_client_auth_subject_dn: CONNECT_SUBJECT,
            scope: SCOPE,
            audience: AUDIENCE,
            tls_client_certificate_bound_access_tokens: true,
          },
        ],
      }),
    );
    // the issuer names the port, so the port is picked before the server exists; another process
    // may take it in between, hence a few attempts
    let issuer: string;
    for (let attempt = 1; ; attempt += 1) {
      authPort = await freePort();
      issuer = `https://127.0.0.1:${authPort}`;
      authServer = await createAuthServer(
        loadAuthServerConfig({
          AUTH_PORT: String(authPort),
          AUTH_HOST: '127.0.0.1',
          AUTH_ISSUER: issuer,
          AUTH_TLS_CERT_FILE: pki.serverCertFile,
          AUTH_TLS_KEY_FILE: pki.serverKeyFile,
          AUTH_CLIENT_CA_FILE: pki.caBundleFile,
          AUTH_CLIENTS_FILE: clientsFile,
          AUTH_KEYS_DIR: join(dir, 'auth-keys'),
          AUTH_LOG_LEVEL: 'silent',
          QUEUE_PREFIX: prefix,
        }),
      );
      try {
        await authServer.listen(authPort, '127.0.0.1');
        break;
      } catch (error) {
        await authServer.close();
        if (attempt === 3 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      }
    }

    listener = await startListener({
      dir,
      prefix,
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
            jwksUri: `${issuer}/oauth2/jwks`,
            jwksCaFile: pki.caBundleFile,
          },
        },
      },
    });
  });

  afterAll(async () => {
    await listener?.close();
    await authServer?.close();
    await deleteKeys(prefix);
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a bound token from the auth-server and records its evidence in the envelope', async () => {
    const token = await issueToken(pki.connect);
    const response = await deliver(pki.connect, token);
    expect(response.status).toBe(200);
    expect(response.json.status).toBe('enqueued');

    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
    const queue = new Queue<VerifiedEnvelope>(DELIVERIES_QUEUE, {
      connection: { host: '127.0.0.1', port: 6379 },
      prefix: queuePrefix(prefix, DELIVERIES_QUEUE),
    });
    try {
      const job = (await queue.getJobs(['waiting'])).find(
        (candidate) => candidate.data.deliveryId === response.json.deliveryId,
      );
      expect(job?.data.evidence).toMatchObject({
        checks: ['mtls', 'oauth', 'bound-token'],
        certificate: { thumbprint: pki.connect.thumbprint, source: 'tls' },
        token: {
          clientId: CLIENT_ID,
          jti: claims.jti,
          issuer: claims.iss,
          boundThumbprint: pki.connect.thumbprint,
        },
      });
      expect(JSON.stringify(job?.data)).not.toContain(token);
    } finally {
      await queue.close();
    }
  });

  it('refuses an auth-server token presented over another certificate', async () => {
    const token = await issueToken(pki.connect);
    const response = await deliver(pki.connectRotated, token);
    expect(response.status).toBe(401);
    expect(response.json.error).toBe('token_binding_mismatch');
  });

  it('refuses a token the auth-server revoked, although the listener had cached it', async () => {
    const token = await issueToken(pki.connect);
    expect((await deliver(pki.connect, token)).status).toBe(200);

    await authCall('/oauth2/revoke', { token, client_id: CLIENT_ID }, pki.connect);
    const response = await deliver(pki.connect, token);
    expect(response.status).toBe(401);
    expect(response.json.error).toBe('token_revoked');
  });

  it('reports the remote JWKS as fresh in readiness', async () => {
    const ready = await send({
      port: listener.port,
      path: '/health/ready',
      method: 'GET',
      tls: { ca: pki.caBundlePem },
    });
    expect(ready.status).toBe(200);
    expect(ready.json.checks).toEqual({ redis: 'ok', 'jwks:docusign': 'ok' });
  });
});
