import { createHash, createHmac, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { DELIVERIES_QUEUE, queuePrefix, type VerifiedEnvelope } from '@countersign/queue';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

import { freePort, send, type Answer } from './support/http-client.js';
import { startListener, type RunningListener } from './support/listener-process.js';
import { findNginx, startNginx, type RunningNginx } from './support/nginx-harness.js';
import {
  createProxyTestPki,
  type IssuedCertificate,
  type ProxyTestPki,
} from './support/test-pki.js';

// The same listener build, the same profile and the same requests, once over direct TLS (the
// listener terminates mTLS) and once through a real nginx running the shipped example (nginx
// terminates mTLS and forwards the certificate in X-SSL-Client-Cert to a proxy-mode listener).
// Every decision must be the same on both routes.

const FIXTURES = resolve(import.meta.dirname, '../fixtures/connect');
const ISSUER = 'https://auth.countersign.test';
const AUDIENCE = 'https://listener.countersign.test/connect/docusign';
const SCOPE = 'connect';
const HMAC_KEY_ENV = 'CS_PROXY_TEST_HMAC_KEY';
const PROXY_ADDRESS = '127.0.0.1';
const NOT_THE_PROXY = '127.0.0.2';

type Route = 'direct TLS' | 'through nginx';
const ROUTES: readonly Route[] = ['direct TLS', 'through nginx'];

function thumbprint(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('base64url');
}

describe('behind nginx the full chain gives the same decisions as direct TLS', () => {
  const runId = `cs-test-proxy-${randomBytes(6).toString('hex')}`;
  const queueRoots: Record<Route, string> = {
    'direct TLS': `${runId}-direct`,
    'through nginx': `${runId}-nginx`,
  };
  const hmacKey = randomBytes(32).toString('base64');

  let dir: string;
  let pki: ProxyTestPki;
  let signingKey: CryptoKey;
  let direct: RunningListener;
  let proxied: RunningListener;
  let nginx: RunningNginx;
  let redis: Redis;
  const queues = {} as Record<Route, Queue>;
  const issuedTokens: string[] = [];

  beforeAll(async () => {
    findNginx();
    dir = await mkdtemp(join(tmpdir(), 'cs-proxy-e2e-'));
    pki = await createProxyTestPki(dir);

    const keys = await generateKeyPair('ES256', { extractable: true });
    signingKey = keys.privateKey;
    const jwk = {
      ...(await exportJWK(keys.publicKey)),
      kid: 'proxy-test',
      alg: 'ES256',
      use: 'sig',
    };
    const jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));

    const profilesFile = join(dir, 'profiles.json');
    await writeFile(
      profilesFile,
      JSON.stringify({
        profiles: {
          docusign: {
            checks: ['mtls', 'oauth', 'bound-token', 'hmac'],
            certificate: {
              trustedCaFile: pki.caBundleFile,
              subjects: [{ subjectDn: pki.connectSubject }],
            },
            token: { issuer: ISSUER, audience: AUDIENCE, requiredScope: SCOPE, jwksFile },
            hmac: { keys: [{ id: 'connect-1', secretEnv: HMAC_KEY_ENV }] },
          },
        },
      }),
    );

    const common = {
      LISTENER_HOST: '127.0.0.1',
      LISTENER_PROFILES_FILE: profilesFile,
      LISTENER_LOG_LEVEL: 'warn',
      REDIS_URL: 'redis://127.0.0.1:6379',
      [HMAC_KEY_ENV]: hmacKey,
    };
    const directPort = await freePort();
    const proxiedPort = await freePort();
    await mkdir(join(dir, 'payloads-direct'));
    await mkdir(join(dir, 'payloads-nginx'));
    [direct, proxied] = await Promise.all([
      startListener(
        {
          ...common,
          LISTENER_MODE: 'tls',
          LISTENER_PORT: String(directPort),
          LISTENER_TLS_CERT_FILE: pki.server.certFile,
          LISTENER_TLS_KEY_FILE: pki.server.keyFile,
          LISTENER_CLIENT_CA_FILE: pki.caBundleFile,
          LISTENER_PAYLOAD_DIR: join(dir, 'payloads-direct'),
          QUEUE_PREFIX: queueRoots['direct TLS'],
        },
        { port: directPort, ca: pki.caBundlePem },
      ),
      startListener(
        {
          ...common,
          LISTENER_MODE: 'proxy',
          LISTENER_PORT: String(proxiedPort),
          LISTENER_TRUSTED_PROXIES: `${PROXY_ADDRESS}/32`,
          LISTENER_FORWARDED_CERT_FORMAT: 'nginx',
          LISTENER_PAYLOAD_DIR: join(dir, 'payloads-nginx'),
          QUEUE_PREFIX: queueRoots['through nginx'],
        },
        { port: proxiedPort },
      ),
    ]);

    nginx = await startNginx(join(dir, 'nginx'), {
      listenPort: await freePort(),
      upstreamPort: proxiedPort,
      serverCertFile: pki.server.certFile,
      serverKeyFile: pki.server.keyFile,
      clientCaFile: pki.caBundleFile,
    });

    redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
    for (const route of ROUTES) {
      queues[route] = new Queue(DELIVERIES_QUEUE, {
        connection: redis,
        prefix: queuePrefix(queueRoots[route], DELIVERIES_QUEUE),
      });
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(ROUTES.map((route) => queues[route]?.close()));
    await nginx?.stop();
    await Promise.all([direct?.stop(), proxied?.stop()]);
    if (redis !== undefined) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${runId}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function accessToken(boundTo: IssuedCertificate | undefined): Promise<string> {
    const claims: Record<string, unknown> = { client_id: 'docusign-connect', scope: SCOPE };
    if (boundTo !== undefined) claims.cnf = { 'x5t#S256': thumbprint(boundTo.certPem) };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'proxy-test' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('docusign-connect')
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signingKey);
    issuedTokens.push(token);
    return token;
  }

  interface Delivery {
    /** The certificate shown in the TLS handshake (to the listener or to nginx). */
    readonly client: IssuedCertificate | undefined;
    /** The certificate the token's cnf names. */
    readonly tokenBoundTo: IssuedCertificate | undefined;
    readonly body: Buffer;
    /** The bytes the HMAC was computed over (the body unless a test tampers with it). */
    readonly signedBody?: Buffer;
    readonly headers?: Record<string, string>;
  }

  async function headersOf(delivery: Delivery): Promise<Record<string, string>> {
    const signed = delivery.signedBody ?? delivery.body;
    return {
      'content-type': 'application/json',
      authorization: `Bearer ${await accessToken(delivery.tokenBoundTo)}`,
      'x-docusign-signature-1': createHmac('sha256', hmacKey).update(signed).digest('base64'),
      ...delivery.headers,
    };
  }

  async function deliver(route: Route, delivery: Delivery): Promise<Answer> {
    const clientTls =
      delivery.client === undefined
        ? {}
        : { cert: delivery.client.certPem, key: delivery.client.keyPem };
    return send({
      port: route === 'direct TLS' ? direct.port : nginx.port,
      path: '/connect/docusign',
      headers: await headersOf(delivery),
      body: delivery.body,
      tls: { ca: pki.caBundlePem, ...clientTls },
    });
  }

  /** Straight to the proxy-mode listener's HTTP port, skipping nginx, from `localAddress`. */
  async function deliverAroundTheProxy(delivery: Delivery, localAddress: string): Promise<Answer> {
    return send({
      port: proxied.port,
      path: '/connect/docusign',
      headers: await headersOf(delivery),
      body: delivery.body,
      localAddress,
    });
  }

  async function queuedEnvelopes(route: Route): Promise<VerifiedEnvelope[]> {
    const jobs = await queues[route].getJobs(['waiting', 'prioritized', 'delayed', 'active']);
    return jobs.map((job) => job.data as VerifiedEnvelope);
  }

  async function fixture(name: string): Promise<Buffer> {
    return readFile(join(FIXTURES, name));
  }

  /** The same delivery with its event name changed after it was signed. */
  function tampered(body: Buffer): Buffer {
    const changed = Buffer.from(
      body.toString('utf8').replace('"envelope-sent"', '"envelope-voided"'),
    );
    if (changed.equals(body)) throw new Error('the tampering did not change the body');
    return changed;
  }

  function decision(answer: Answer) {
    return { status: answer.status, error: answer.json?.error };
  }

  it('accepts a genuine delivery on both routes and enqueues it with the same certificate evidence', async () => {
    const body = await fixture('envelope-completed.json');
    const genuine = { client: pki.connectClient, tokenBoundTo: pki.connectClient, body };

    for (const route of ROUTES) {
      const answer = await deliver(route, genuine);

      expect({ route, status: answer.status, body: answer.json?.status }).toEqual({
        route,
        status: 200,
        body: 'enqueued',
      });
      const queued = (await queuedEnvelopes(route)).find(
        (envelope) => envelope.deliveryId === answer.json?.deliveryId,
      );
      expect(queued?.event.event).toBe('envelope-completed');
      expect(queued?.evidence.certificate).toMatchObject({
        source: route === 'direct TLS' ? 'tls' : 'forwarded',
        thumbprint: thumbprint(pki.connectClient.certPem),
      });
      expect(queued?.evidence.token?.boundThumbprint).toBe(thumbprint(pki.connectClient.certPem));
      expect(queued?.evidence.hmac?.keyId).toBe('connect-1');
    }
  });

  const refusals: ReadonlyArray<
    [string, (body: Buffer) => Delivery, { status: number; error: string }]
  > = [
    [
      'refuses a certificate from a CA the profile does not trust',
      (body) => ({ client: pki.unrelatedCaClient, tokenBoundTo: pki.unrelatedCaClient, body }),
      { status: 401, error: 'certificate_not_trusted' },
    ],
    [
      'refuses a self-signed certificate with the genuine subject',
      (body) => ({ client: pki.selfSignedClient, tokenBoundTo: pki.selfSignedClient, body }),
      { status: 401, error: 'certificate_not_trusted' },
    ],
    [
      'refuses a trusted certificate whose subject the profile does not allow',
      (body) => ({ client: pki.otherSubjectClient, tokenBoundTo: pki.otherSubjectClient, body }),
      { status: 401, error: 'certificate_subject_mismatch' },
    ],
    [
      'refuses a delivery without a client certificate',
      (body) => ({ client: undefined, tokenBoundTo: pki.connectClient, body }),
      { status: 401, error: 'certificate_missing' },
    ],
    [
      'refuses a token bound to another certificate',
      (body) => ({ client: pki.connectClient, tokenBoundTo: pki.otherSubjectClient, body }),
      { status: 401, error: 'token_binding_mismatch' },
    ],
    [
      'refuses a token bound to no certificate',
      (body) => ({ client: pki.connectClient, tokenBoundTo: undefined, body }),
      { status: 401, error: 'token_not_bound' },
    ],
    [
      'refuses a tampered body',
      (body) => ({
        client: pki.connectClient,
        tokenBoundTo: pki.connectClient,
        body: tampered(body),
        signedBody: body,
      }),
      { status: 401, error: 'hmac_mismatch' },
    ],
  ];

  it.each(refusals)('%s, with the same answer on both routes', async (_rule, make, expected) => {
    const delivery = make(await fixture('envelope-sent.json'));

    for (const route of ROUTES) {
      const before = (await queuedEnvelopes(route)).length;
      const answer = await deliver(route, delivery);

      expect({ route, ...decision(answer) }).toEqual({ route, ...expected });
      expect((await queuedEnvelopes(route)).length).toBe(before);
    }
  });

  it('refuses a body over the listener limit with 413 on both routes', async () => {
    const oversized = Buffer.alloc(32 * 1024 * 1024 + 1, 0x20);
    oversized.write('{"event":"envelope-sent","data":{}}');
    const delivery = {
      client: pki.connectClient,
      tokenBoundTo: pki.connectClient,
      body: oversized,
    };

    for (const route of ROUTES) {
      const answer = await deliver(route, delivery);

      expect({ route, ...decision(answer) }).toEqual({
        route,
        status: 413,
        error: 'body_too_large',
      });
    }
  });

  it('answers a token bound to another certificate with an invalid_token challenge on both routes', async () => {
    const delivery = {
      client: pki.connectClient,
      tokenBoundTo: pki.otherSubjectClient,
      body: await fixture('envelope-sent.json'),
    };

    for (const route of ROUTES) {
      const answer = await deliver(route, delivery);

      expect(answer.headers['www-authenticate']).toBe(
        'Bearer realm="countersign", error="invalid_token"',
      );
    }
  });

  it.each([
    [
      'an expired certificate',
      'expiredClient',
      'envelope-voided.json',
      'envelope-voided',
      'certificate_expired',
    ],
    [
      'a not yet valid certificate',
      'notYetValidClient',
      'envelope-declined.json',
      'envelope-declined',
      'certificate_not_yet_valid',
    ],
  ] as const)(
    'refuses %s of the trusted CA on both routes (nginx answers 400 itself, the listener 401)',
    async (_name, role, file, event, reason) => {
      const delivery = { client: pki[role], tokenBoundTo: pki[role], body: await fixture(file) };

      const directAnswer = await deliver('direct TLS', delivery);
      const nginxAnswer = await deliver('through nginx', delivery);

      expect(decision(directAnswer)).toEqual({ status: 401, error: reason });
      expect(nginxAnswer.status).toBe(400);
      for (const route of ROUTES) {
        expect((await queuedEnvelopes(route)).map((queued) => queued.event.event)).not.toContain(
          event,
        );
      }
    },
  );

  it('ignores a certificate header a client sends through nginx without a certificate of its own', async () => {
    const answer = await deliver('through nginx', {
      client: undefined,
      tokenBoundTo: pki.connectClient,
      body: await fixture('envelope-sent.json'),
      headers: { 'X-SSL-Client-Cert': encodeURIComponent(pki.connectClient.certPem) },
    });

    expect(decision(answer)).toEqual({ status: 401, error: 'certificate_missing' });
  });

  it('judges the handshake certificate, not a header naming the genuine one, through nginx', async () => {
    const answer = await deliver('through nginx', {
      client: pki.otherSubjectClient,
      tokenBoundTo: pki.connectClient,
      body: await fixture('envelope-sent.json'),
      headers: { 'X-SSL-Client-Cert': encodeURIComponent(pki.connectClient.certPem) },
    });

    expect(decision(answer)).toEqual({ status: 401, error: 'certificate_subject_mismatch' });
  });

  it('refuses a forged X-SSL-Client-Cert sent straight to the listener from an address that is not the proxy', async () => {
    const before = (await queuedEnvelopes('through nginx')).length;
    const answer = await deliverAroundTheProxy(
      {
        client: undefined,
        tokenBoundTo: pki.connectClient,
        body: await fixture('envelope-declined.json'),
        headers: { 'X-SSL-Client-Cert': encodeURIComponent(pki.connectClient.certPem) },
      },
      NOT_THE_PROXY,
    );

    expect(decision(answer)).toEqual({
      status: 401,
      error: 'forwarded_certificate_untrusted_peer',
    });
    expect((await queuedEnvelopes('through nginx')).length).toBe(before);
  });

  it('believes X-SSL-Client-Cert only from the allowlisted proxy address', async () => {
    const delivery = {
      client: undefined,
      tokenBoundTo: pki.connectClient,
      body: await fixture('recipient-completed.json'),
      headers: { 'X-SSL-Client-Cert': encodeURIComponent(pki.connectClient.certPem) },
    };

    const fromElsewhere = await deliverAroundTheProxy(delivery, NOT_THE_PROXY);
    const fromTheProxy = await deliverAroundTheProxy(delivery, PROXY_ADDRESS);

    expect(fromElsewhere.status).toBe(401);
    expect(fromTheProxy.status).toBe(200);
  });

  it('keeps tokens and the HMAC key out of the listener and nginx logs', async () => {
    const logs = [
      direct.output(),
      proxied.output(),
      await nginx.errorLog(),
      await readFile(join(nginx.dir, 'access.log'), 'utf8'),
    ].join('\n');

    expect(issuedTokens.length).toBeGreaterThan(10);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(hmacKey);
    for (const token of issuedTokens) {
      expect(logs).not.toContain(token.split('.')[2]);
    }
  });
});
