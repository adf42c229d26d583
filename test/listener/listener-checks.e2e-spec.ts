import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { TokenRevocationList } from '@countersign/common';
import { hashSecret } from '@countersign/security';
import {
  CONNECT_SUBJECT,
  createListenerTestPki,
  type ListenerTestPki,
} from './support/listener-pki.js';
import {
  connectSignature,
  send,
  startListener,
  type RunningListener,
  type TestResponse,
} from './support/listener-harness.js';
import {
  boundTo,
  createTokenIssuer,
  publicKeyHmacToken,
  TEST_AUDIENCE,
  TEST_ISSUER,
  TEST_SCOPE,
  unsignedToken,
  type TokenIssuer,
} from './support/test-tokens.js';

const HMAC_KEY_CURRENT = 'Y3VycmVudC1rZXktZm9yLXRoZS1saXN0ZW5lci10ZXN0cw=';
const HMAC_KEY_NEXT = 'bmV4dC1rZXktZm9yLXRoZS1saXN0ZW5lci10ZXN0cw==';
const HMAC_KEY_REMOVED = 'cmVtb3ZlZC1rZXktbm8tbG9uZ2VyLWNvbmZpZ3VyZWQ=';
const BASIC_PASSWORD = 'correct-horse-battery-staple';

/** A JSON SIM delivery of its own envelope, so tests never collide on the dedupe key. */
function uniqueDelivery(): Buffer {
  return Buffer.from(
    JSON.stringify({
      event: 'envelope-sent',
      apiVersion: 'v2.1',
      uri: `/restapi/v2.1/accounts/a1/envelopes/${randomUUID()}`,
      retryCount: 0,
      configurationId: 4242,
      generatedDateTime: new Date().toISOString(),
      data: { accountId: randomUUID(), userId: randomUUID(), envelopeId: randomUUID() },
    }),
  );
}

describe('listener checks over real HTTPS', () => {
  let dir: string;
  let pki: ListenerTestPki;
  let issuer: TokenIssuer;
  let strangerIssuer: TokenIssuer;
  let listener: RunningListener;

  const json = { 'content-type': 'application/json' };

  function post(
    profile: string,
    options: {
      client?: ListenerTestPki['connect'];
      headers?: Record<string, string>;
      body?: Buffer;
    } = {},
  ): Promise<TestResponse> {
    return send({
      port: listener.port,
      path: `/connect/${profile}`,
      tls: { ca: pki.caBundlePem, client: options.client },
      headers: { ...json, ...options.headers },
      body: options.body ?? uniqueDelivery(),
    });
  }

  function bearer(token: string): Record<string, string> {
    return { authorization: `Bearer ${token}` };
  }

  function expectRejected(response: TestResponse, status: number, reason: string): void {
    expect({ status: response.status, error: response.json.error }).toEqual({
      status,
      error: reason,
    });
    expect(typeof response.json.message).toBe('string');
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-listener-checks-'));
    pki = await createListenerTestPki(dir);
    issuer = await createTokenIssuer('issuer-key-1');
    strangerIssuer = await createTokenIssuer('issuer-key-1');
    await writeFile(join(dir, 'jwks.json'), JSON.stringify(issuer.jwks));

    const token = {
      issuer: TEST_ISSUER,
      audience: TEST_AUDIENCE,
      requiredScope: TEST_SCOPE,
      jwksFile: 'jwks.json',
    };
    const subjects = [{ subjectDn: CONNECT_SUBJECT }];
    listener = await startListener({
      dir,
      env: {
        LISTENER_TLS_CERT_FILE: pki.serverCertFile,
        LISTENER_TLS_KEY_FILE: pki.serverKeyFile,
        LISTENER_CLIENT_CA_FILE: pki.caBundleFile,
        CS_TEST_HMAC_CURRENT: HMAC_KEY_CURRENT,
        CS_TEST_HMAC_NEXT: HMAC_KEY_NEXT,
      },
      profiles: {
        mtls: { checks: ['mtls'], certificate: { subjects } },
        pinned: {
          checks: ['mtls'],
          certificate: { pins: [pki.connect.thumbprint, pki.connectRotated.thumbprint] },
        },
        'root-only': { checks: ['mtls'], certificate: { trustedCaFile: pki.rootCaFile, subjects } },
        'other-ca': {
          checks: ['mtls'],
          certificate: { trustedCaFile: pki.unrelatedRootCaFile, subjects },
        },
        oauth: { checks: ['oauth'], token },
        bound: { checks: ['mtls', 'oauth', 'bound-token'], certificate: { subjects }, token },
        hmac: {
          checks: ['hmac'],
          hmac: {
            keys: [
              { id: 'current', secretEnv: 'CS_TEST_HMAC_CURRENT' },
              { id: 'next', secretEnv: 'CS_TEST_HMAC_NEXT' },
            ],
          },
        },
        basic: {
          checks: ['basic'],
          basic: { username: 'docusign', passwordHash: await hashSecret(BASIC_PASSWORD) },
        },
        full: {
          checks: ['mtls', 'oauth', 'bound-token', 'hmac'],
          certificate: { subjects },
          token,
          hmac: { keys: [{ id: 'current', secretEnv: 'CS_TEST_HMAC_CURRENT' }] },
        },
      },
    });
  });

  afterAll(async () => {
    await listener?.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('profile', () => {
    it('answers 404 for an unknown profile without running any check', async () => {
      const response = await post('no-such-profile');
      expectRejected(response, 404, 'profile_unknown');
      expect(response.headers['www-authenticate']).toBeUndefined();
    });
  });

  describe('mtls', () => {
    it('accepts the Connect certificate from the trusted CA with the required subject', async () => {
      const response = await post('mtls', { client: pki.connect });
      expect(response.status).toBe(200);
      expect(response.json).toMatchObject({ status: 'enqueued' });
    });

    it('rejects a delivery without a client certificate', async () => {
      expectRejected(await post('mtls'), 401, 'certificate_missing');
    });

    it('rejects a certificate from an untrusted CA', async () => {
      expectRejected(
        await post('mtls', { client: pki.unrelatedCa }),
        401,
        'certificate_not_trusted',
      );
    });

    it('rejects a self-signed certificate with the right subject', async () => {
      expectRejected(
        await post('mtls', { client: pki.selfSigned }),
        401,
        'certificate_not_trusted',
      );
    });

    it('rejects an expired certificate', async () => {
      expectRejected(await post('mtls', { client: pki.expired }), 401, 'certificate_expired');
    });

    it('rejects a certificate that is not yet valid', async () => {
      expectRejected(
        await post('mtls', { client: pki.notYetValid }),
        401,
        'certificate_not_yet_valid',
      );
    });

    it('rejects a trusted certificate with another subject', async () => {
      expectRejected(
        await post('mtls', { client: pki.otherSubject }),
        401,
        'certificate_subject_mismatch',
      );
    });

    it('accepts a certificate whose chain (sent by the client) reaches the profile CA', async () => {
      expect((await post('root-only', { client: pki.connect })).status).toBe(200);
    });

    it('narrows trust to the profile CA: a certificate the listener CA trusts is refused', async () => {
      expectRejected(
        await post('other-ca', { client: pki.connect }),
        401,
        'certificate_not_trusted',
      );
    });

    it('accepts both pinned certificates during a rotation and refuses an unpinned one', async () => {
      expect((await post('pinned', { client: pki.connect })).status).toBe(200);
      expect((await post('pinned', { client: pki.connectRotated })).status).toBe(200);
      expectRejected(
        await post('pinned', { client: pki.otherSubject }),
        401,
        'certificate_not_pinned',
      );
    });
  });

  describe('oauth', () => {
    it('accepts a valid RFC 9068 access token', async () => {
      const response = await post('oauth', { headers: bearer(await issuer.mint()) });
      expect(response.status).toBe(200);
    });

    it('answers a bare Bearer challenge when no token is sent', async () => {
      const response = await post('oauth');
      expectRejected(response, 401, 'token_missing');
      expect(response.headers['www-authenticate']).toBe('Bearer realm="countersign"');
    });

    const invalid: [string, () => Promise<string>, string][] = [
      [
        'an expired token',
        () => issuer.mint({ claims: { exp: now() - 120, iat: now() - 600 } }),
        'token_expired',
      ],
      [
        'a token from another issuer',
        () => issuer.mint({ claims: { iss: 'https://evil.test' } }),
        'token_issuer_mismatch',
      ],
      [
        'a token whose issuer has a trailing slash',
        () => issuer.mint({ claims: { iss: `${TEST_ISSUER}/` } }),
        'token_issuer_mismatch',
      ],
      [
        'a token for another audience',
        () => issuer.mint({ claims: { aud: 'https://other.test' } }),
        'token_audience_mismatch',
      ],
      ['a token with typ JWT', () => issuer.mint({ header: { typ: 'JWT' } }), 'token_typ_invalid'],
      [
        'an unsigned token (alg none)',
        () => Promise.resolve(unsignedToken()),
        'token_alg_not_allowed',
      ],
      [
        'an HS256 token signed with the public key',
        () => publicKeyHmacToken(issuer),
        'token_alg_not_allowed',
      ],
      [
        'a token with an unknown kid',
        () => issuer.mint({ header: { kid: 'unknown-kid' } }),
        'token_unknown_kid',
      ],
      [
        'a token signed by another key under a known kid',
        () => strangerIssuer.mint(),
        'token_signature_invalid',
      ],
      ['a token without exp', () => issuer.mint({ omit: ['exp'] }), 'token_claim_missing'],
      [
        'a token without client_id',
        () => issuer.mint({ omit: ['client_id'] }),
        'token_claim_missing',
      ],
      ['a malformed token', () => Promise.resolve('not-a-jwt'), 'token_malformed'],
    ];
    it.each(invalid)('rejects %s with invalid_token', async (_name, token, reason) => {
      const response = await post('oauth', { headers: bearer(await token()) });
      expectRejected(response, 401, reason);
      expect(response.headers['www-authenticate']).toBe(
        'Bearer realm="countersign", error="invalid_token"',
      );
      expect(response.text).not.toContain('eyJ');
    });

    it('answers 403 insufficient_scope for a token without the required scope', async () => {
      const response = await post('oauth', {
        headers: bearer(await issuer.mint({ claims: { scope: 'connect:read' } })),
      });
      expectRejected(response, 403, 'token_scope_insufficient');
      expect(response.headers['www-authenticate']).toBe(
        'Bearer realm="countersign", error="insufficient_scope"',
      );
    });

    it('checks revocation on every delivery, even for a cached token', async () => {
      const jti = randomUUID();
      const token = await issuer.mint({ claims: { jti } });
      expect((await post('oauth', { headers: bearer(token) })).status).toBe(200);

      const redis = new Redis({ host: '127.0.0.1', port: 6379 });
      try {
        await new TokenRevocationList(redis, listener.prefix).revoke(TEST_ISSUER, jti, now() + 300);
      } finally {
        redis.disconnect();
      }
      expectRejected(await post('oauth', { headers: bearer(token) }), 401, 'token_revoked');
    });

    it('counts a reused token as a cache hit', async () => {
      const token = await issuer.mint();
      expect((await post('oauth', { headers: bearer(token) })).status).toBe(200);
      expect((await post('oauth', { headers: bearer(token) })).status).toBe(200);
      const metrics = await send({
        port: listener.port,
        path: '/metrics',
        method: 'GET',
        tls: { ca: pki.caBundlePem },
      });
      expect(metrics.text).toMatch(/countersign_token_cache_total\{result="hit"[^}]*\} [1-9]/);
    });
  });

  describe('bound tokens', () => {
    it('accepts a token bound to the certificate of this connection', async () => {
      const token = await issuer.mint({ claims: boundTo(pki.connect.thumbprint) });
      const response = await post('bound', { client: pki.connect, headers: bearer(token) });
      expect(response.status).toBe(200);
    });

    it('rejects a token bound to another certificate', async () => {
      const token = await issuer.mint({ claims: boundTo(pki.connect.thumbprint) });
      const response = await post('bound', { client: pki.connectRotated, headers: bearer(token) });
      expectRejected(response, 401, 'token_binding_mismatch');
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    });

    it('re-checks the binding of a cached token on every delivery', async () => {
      const token = await issuer.mint({ claims: boundTo(pki.connect.thumbprint) });
      expect((await post('bound', { client: pki.connect, headers: bearer(token) })).status).toBe(
        200,
      );
      expectRejected(
        await post('bound', { client: pki.connectRotated, headers: bearer(token) }),
        401,
        'token_binding_mismatch',
      );
    });

    it('rejects an unbound token where binding is required', async () => {
      const response = await post('bound', {
        client: pki.connect,
        headers: bearer(await issuer.mint()),
      });
      expectRejected(response, 401, 'token_not_bound');
    });

    it('rejects a bound token presented without a certificate', async () => {
      const token = await issuer.mint({ claims: boundTo(pki.connect.thumbprint) });
      expectRejected(
        await post('oauth', { headers: bearer(token) }),
        401,
        'token_bound_without_certificate',
      );
    });

    it('holds a bound token to its binding even where binding is not required', async () => {
      const token = await issuer.mint({ claims: boundTo(pki.connect.thumbprint) });
      expect((await post('oauth', { client: pki.connect, headers: bearer(token) })).status).toBe(
        200,
      );
      expectRejected(
        await post('oauth', { client: pki.otherSubject, headers: bearer(token) }),
        401,
        'token_binding_mismatch',
      );
    });
  });

  describe('hmac', () => {
    function signed(body: Buffer, signatures: Record<string, string>): Record<string, string> {
      return Object.fromEntries(
        Object.entries(signatures).map(([n, key]) => [
          `X-DocuSign-Signature-${n}`,
          connectSignature(key, body),
        ]),
      );
    }

    it('accepts a body signed with a configured key', async () => {
      const body = uniqueDelivery();
      const response = await post('hmac', { body, headers: signed(body, { 1: HMAC_KEY_CURRENT }) });
      expect(response.status).toBe(200);
    });

    it('accepts a rotation: one header from a removed key, the other from a configured key', async () => {
      const body = uniqueDelivery();
      const headers = signed(body, { 1: HMAC_KEY_REMOVED, 2: HMAC_KEY_NEXT });
      expect((await post('hmac', { body, headers })).status).toBe(200);
    });

    it('rejects a tampered body', async () => {
      const body = uniqueDelivery();
      const headers = signed(body, { 1: HMAC_KEY_CURRENT });
      const tampered = Buffer.from(
        body.toString('utf8').replace('envelope-sent', 'envelope-voided'),
      );
      expectRejected(await post('hmac', { body: tampered, headers }), 401, 'hmac_mismatch');
    });

    it('rejects a signature from a removed key', async () => {
      const body = uniqueDelivery();
      const headers = signed(body, { 1: HMAC_KEY_REMOVED });
      expectRejected(await post('hmac', { body, headers }), 401, 'hmac_mismatch');
    });

    it('rejects a delivery without a signature header', async () => {
      expectRejected(await post('hmac'), 401, 'hmac_signature_missing');
    });

    it('rejects a delivery whose signature does not cover the exact bytes (re-serialized)', async () => {
      const body = Buffer.from('{"event":"envelope-sent","data":{"envelopeId":"e1"}}\r\n');
      const headers = signed(body, { 1: HMAC_KEY_CURRENT });
      const reserialized = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
      expectRejected(await post('hmac', { body: reserialized, headers }), 401, 'hmac_mismatch');
    });
  });

  describe('basic', () => {
    function basic(username: string, password: string): Record<string, string> {
      return {
        authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
      };
    }

    it('accepts the right username and password', async () => {
      expect((await post('basic', { headers: basic('docusign', BASIC_PASSWORD) })).status).toBe(
        200,
      );
    });

    it('rejects a wrong password with a Basic challenge', async () => {
      const response = await post('basic', { headers: basic('docusign', 'wrong-password') });
      expectRejected(response, 401, 'basic_invalid_credentials');
      expect(response.headers['www-authenticate']).toMatch(/^Basic realm="countersign"/);
      expect(response.text).not.toContain('wrong-password');
    });

    it('rejects a delivery without credentials', async () => {
      expectRejected(await post('basic'), 401, 'basic_missing');
    });
  });

  describe('revocation list unreachable', () => {
    it('fails closed with 503 and Retry-After when Redis cannot say whether a token is revoked', async () => {
      const closedPort = await new Promise<number>((resolve) => {
        const server = createServer();
        server.listen(0, '127.0.0.1', () => {
          const { port } = server.address() as AddressInfo;
          server.close(() => resolve(port));
        });
      });
      const down = await startListener({
        dir,
        env: {
          LISTENER_TLS_CERT_FILE: pki.serverCertFile,
          LISTENER_TLS_KEY_FILE: pki.serverKeyFile,
          REDIS_URL: `redis://127.0.0.1:${closedPort}`,
        },
        profiles: {
          oauth: {
            checks: ['oauth'],
            token: {
              issuer: TEST_ISSUER,
              audience: TEST_AUDIENCE,
              requiredScope: TEST_SCOPE,
              jwksFile: 'jwks.json',
            },
          },
        },
      });
      try {
        const started = Date.now();
        const response = await send({
          port: down.port,
          path: '/connect/oauth',
          tls: { ca: pki.caBundlePem },
          headers: { ...json, ...bearer(await issuer.mint()) },
          body: uniqueDelivery(),
        });
        expect(Date.now() - started).toBeLessThan(2000);
        expectRejected(response, 503, 'revocation_unavailable');
        expect(response.headers['retry-after']).toBeDefined();
      } finally {
        await down.close();
      }
    });
  });

  describe('rejection logs', () => {
    it('logs each rejection at warn with its reason and delivery id, never the credentials', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn');
      try {
        const token = await issuer.mint({ claims: { aud: 'https://other.test' } });
        const body = uniqueDelivery();
        const signature = connectSignature(HMAC_KEY_REMOVED, body);
        await post('oauth', { headers: bearer(token) });
        await post('hmac', { body, headers: { 'X-DocuSign-Signature-1': signature } });
        await post('basic', {
          headers: {
            authorization: `Basic ${Buffer.from('docusign:hunter2-wrong').toString('base64')}`,
          },
        });

        const logged = warn.mock.calls.map((call) => call[0] as Record<string, unknown>);
        expect(logged.map((line) => line.reason)).toEqual([
          'token_audience_mismatch',
          'hmac_mismatch',
          'basic_invalid_credentials',
        ]);
        for (const line of logged) {
          expect(line.deliveryId).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
        }
        const text = JSON.stringify(warn.mock.calls);
        expect(text).not.toContain(token);
        expect(text).not.toContain(token.split('.')[2]);
        expect(text).not.toContain(signature);
        expect(text).not.toContain('hunter2-wrong');
        expect(text).not.toContain(HMAC_KEY_CURRENT);
        expect(text).not.toContain(body.toString('utf8'));
      } finally {
        warn.mockRestore();
      }
    });
  });

  describe('every check together', () => {
    it('accepts a delivery that passes mtls, a bound token and hmac, and records the evidence', async () => {
      const body = uniqueDelivery();
      const token = await issuer.mint({ claims: boundTo(pki.connect.thumbprint) });
      const response = await post('full', {
        client: pki.connect,
        body,
        headers: {
          ...bearer(token),
          'X-DocuSign-Signature-1': connectSignature(HMAC_KEY_CURRENT, body),
        },
      });
      expect(response.status).toBe(200);
      expect(response.json.deliveryId).toEqual(expect.any(String));
    });

    it('runs the checks in order: the certificate is refused before the token is looked at', async () => {
      const response = await post('full', {
        client: pki.unrelatedCa,
        headers: bearer('not-a-jwt'),
      });
      expectRejected(response, 401, 'certificate_not_trusted');
    });
  });
});

function now(): number {
  return Math.floor(Date.now() / 1000);
}
