import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONNECT_SUBJECT,
  createListenerTestPki,
  type ListenerTestPki,
} from './support/listener-pki.js';
import {
  send,
  startListener,
  type RunningListener,
  type TestResponse,
} from './support/listener-harness.js';
import {
  boundTo,
  createTokenIssuer,
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_SCOPE,
  type TokenIssuer,
} from './support/test-tokens.js';

const BODY =
  '{"event":"envelope-sent","data":{"envelopeId":"proxy-0001"},"generatedDateTime":"2026-01-01T00:00:00Z"}';

/** nginx's `$ssl_client_escaped_cert`: the leaf PEM, URL-encoded. */
function nginxHeader(certPem: string): string {
  const leaf = certPem.slice(0, certPem.indexOf('-----END CERTIFICATE-----') + 25);
  return encodeURIComponent(`${leaf}\n`);
}

describe('listener behind a TLS-terminating proxy', () => {
  let dir: string;
  let pki: ListenerTestPki;
  let issuer: TokenIssuer;
  let trusting: RunningListener;
  let distrusting: RunningListener;

  const profiles = () => ({
    mtls: { checks: ['mtls'], certificate: { subjects: [{ subjectDn: CONNECT_SUBJECT }] } },
    bound: {
      checks: ['oauth', 'bound-token'],
      token: {
        issuer: TEST_ISSUER,
        audience: TEST_AUDIENCE,
        requiredScope: TEST_SCOPE,
        jwksFile: 'jwks.json',
      },
    },
  });
  const env = (proxies: string) => ({
    LISTENER_MODE: 'proxy',
    LISTENER_TRUSTED_PROXIES: proxies,
    LISTENER_FORWARDED_CERT_FORMAT: 'nginx',
    LISTENER_CLIENT_CA_FILE: pki.caBundleFile,
  });

  function post(
    listener: RunningListener,
    profile: string,
    headers: Record<string, string | string[]>,
  ): Promise<TestResponse> {
    return send({
      port: listener.port,
      path: `/connect/${profile}`,
      headers: { 'content-type': 'application/json', ...headers },
      body: BODY.replace('proxy-0001', `proxy-${Math.random().toString(36).slice(2)}`),
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-listener-proxy-'));
    pki = await createListenerTestPki(dir);
    issuer = await createTokenIssuer();
    await writeFile(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));
    trusting = await startListener({ dir, env: env('127.0.0.1/32, ::1'), profiles: profiles() });
    distrusting = await startListener({ dir, env: env('10.0.0.0/8'), profiles: profiles() });
  });

  afterAll(async () => {
    await trusting?.close();
    await distrusting?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts the certificate forwarded by an allowlisted proxy', async () => {
    const response = await post(trusting, 'mtls', {
      'x-ssl-client-cert': nginxHeader(pki.connect.certPem),
    });
    expect(response.status).toBe(200);
  });

  it('refuses the certificate header from a peer that is not an allowlisted proxy', async () => {
    const response = await post(distrusting, 'mtls', {
      'x-ssl-client-cert': nginxHeader(pki.connect.certPem),
    });
    expect(response.status).toBe(401);
    expect(response.json.error).toBe('forwarded_certificate_untrusted_peer');
  });

  it('refuses a repeated certificate header', async () => {
    const header = nginxHeader(pki.connect.certPem);
    const response = await post(trusting, 'mtls', { 'x-ssl-client-cert': [header, header] });
    expect(response.json.error).toBe('forwarded_certificate_repeated');
  });

  it('refuses a delivery when the proxy forwarded no certificate', async () => {
    expect((await post(trusting, 'mtls', {})).json.error).toBe('certificate_missing');
  });

  it('checks the chain of a forwarded certificate against the trusted CAs', async () => {
    const response = await post(trusting, 'mtls', {
      'x-ssl-client-cert': nginxHeader(pki.unrelatedCa.certPem),
    });
    expect(response.json.error).toBe('certificate_not_trusted');
  });

  it('binds a token to the forwarded certificate', async () => {
    const token = await issuer.mint({ claims: boundTo(pki.connect.thumbprint) });
    const authorization = `Bearer ${token}`;
    const good = await post(trusting, 'bound', {
      authorization,
      'x-ssl-client-cert': nginxHeader(pki.connect.certPem),
    });
    expect(good.status).toBe(200);
    const other = await post(trusting, 'bound', {
      authorization,
      'x-ssl-client-cert': nginxHeader(pki.connectRotated.certPem),
    });
    expect(other.json.error).toBe('token_binding_mismatch');
  });

  it('cuts off a client that trickles its headers within about the headers timeout', async () => {
    const headersTimeoutMs = 1000;
    const slow = await startListener({
      dir,
      env: {
        ...env('127.0.0.1/32'),
        LISTENER_HEADERS_TIMEOUT_MS: String(headersTimeoutMs),
        LISTENER_REQUEST_TIMEOUT_MS: '5000',
      },
      profiles: profiles(),
    });
    try {
      const server = slow.app.getHttpServer();
      expect([server.headersTimeout, server.requestTimeout]).toEqual([headersTimeoutMs, 5000]);

      const started = Date.now();
      const outcome = await new Promise<{ answer: string; closedAfterMs?: number }>((resolve) => {
        const socket = netConnect({ host: '127.0.0.1', port: slow.port });
        let answer = '';
        // one header line every 100 ms: the socket is never idle, only the headers are late
        const trickle = setInterval(() => socket.write(`X-Slow-${Date.now()}: a\r\n`), 100);
        const giveUp = setTimeout(() => {
          clearInterval(trickle);
          socket.destroy();
          resolve({ answer });
        }, headersTimeoutMs + 5000);
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(trickle);
          clearTimeout(giveUp);
          resolve({ answer, closedAfterMs: Date.now() - started });
        });
        socket.write('POST /connect/mtls HTTP/1.1\r\nHost: localhost\r\n');
      });

      expect(outcome.closedAfterMs).toBeDefined();
      expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(headersTimeoutMs - 100);
      // Node looks for late headers once a second here (every 30 s without the server options)
      expect(outcome.closedAfterMs).toBeLessThan(headersTimeoutMs + 2000);
      expect(outcome.answer === '' || outcome.answer.startsWith('HTTP/1.1 408')).toBe(true);
    } finally {
      await slow.close();
    }
  });

  it('serves plain HTTP in proxy mode', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port: trusting.port, path: '/health/live' }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
  });
});
