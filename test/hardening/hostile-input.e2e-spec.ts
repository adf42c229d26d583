import { createHash, createHmac, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { TokenRevocationList } from '@countersign/common';
import {
  QueueProbe,
  REDIS_URL,
  deleteKeys,
  send,
  startInProcessListener,
  startJwksServer,
  type Answer,
  type InProcessListener,
  type JwksServer,
  type SendOptions,
} from './support/hardening-harness.js';
import {
  createHardeningPki,
  type ClientIdentity,
  type HardeningPki,
} from './support/hardening-pki.js';
import {
  AUDIENCE,
  ISSUER,
  SCOPE,
  createSigningIssuer,
  publicKeyHmacToken,
  unsignedToken,
  type SigningIssuer,
} from './support/hardening-tokens.js';

const CONNECT_SUBJECT = 'CN=connect.countersign.test, O=Countersign Dev, C=US';
const HMAC_KEY = 'aGFyZGVuaW5nLWhtYWMta2V5LWZvci10aGUtc3VpdGUtMDE=';
const MIB = 1024 * 1024;
const JSON_TYPE = { 'content-type': 'application/json' };

/** A JSON SIM delivery of its own envelope, so no case collides with another on the dedupe key. */
function delivery(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event: 'envelope-sent',
    apiVersion: 'v2.1',
    uri: `/restapi/v2.1/accounts/a1/envelopes/${randomUUID()}`,
    retryCount: 0,
    configurationId: 4242,
    generatedDateTime: new Date().toISOString(),
    data: { accountId: randomUUID(), userId: randomUUID(), envelopeId: randomUUID() },
    ...overrides,
  };
}

function deliveryBody(overrides: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify(delivery(overrides)));
}

function sign(key: string | Buffer, body: Buffer | string): string {
  return createHmac('sha256', typeof key === 'string' ? Buffer.from(key, 'utf8') : key)
    .update(body)
    .digest('base64');
}

function signed(body: Buffer, extra: Record<string, string | string[]> = {}) {
  return { ...JSON_TYPE, 'x-docusign-signature-1': sign(HMAC_KEY, body), ...extra };
}

function thumbprintVariants(certPem: string) {
  const der = new X509Certificate(certPem).raw;
  return {
    sha1Hex: createHash('sha1').update(der).digest('hex'),
    sha256Hex: createHash('sha256').update(der).digest('hex'),
    sha256PaddedBase64: createHash('sha256').update(der).digest('base64'),
  };
}

/** The first certificate of a PEM text. */
function leafPem(pem: string): string {
  const end = '-----END CERTIFICATE-----';
  return `${pem.slice(0, pem.indexOf(end) + end.length)}\n`;
}

/** Envoy's URL encoding of a PEM, with `+` optionally left as a literal `+`. */
function xfccCert(pem: string, keepPlus = false): string {
  const encoded = encodeURIComponent(pem);
  return keepPlus ? encoded.replace(/%2B/g, '+') : encoded;
}

describe('hostile input: every hostile request is refused with its reason and nothing enqueued', () => {
  let dir: string;
  let pki: HardeningPki;
  let issuer: SigningIssuer;
  let stranger: SigningIssuer;
  let jwks: JwksServer;
  let tls: InProcessListener;
  let proxy: InProcessListener;
  let slow: InProcessListener;
  let rootTrust: InProcessListener;
  let probes: Map<InProcessListener, QueueProbe>;
  let redis: Redis;

  const cnfOf = (identity: ClientIdentity) => ({ 'x5t#S256': identity.thumbprint });

  function post(
    listener: InProcessListener,
    profile: string,
    options: Omit<SendOptions, 'port' | 'path'> = {},
  ): Promise<Answer> {
    const plain = listener === proxy;
    return send({
      port: listener.port,
      path: `/connect/${profile}`,
      tls: plain ? undefined : { ca: pki.caBundlePem, ...options.tls },
      headers: options.headers ?? JSON_TYPE,
      body: options.body ?? deliveryBody(),
      localAddress: options.localAddress,
    });
  }

  /** Runs `attempt` and checks its answer, and that the deliveries queue did not grow. */
  async function expectRefused(
    listener: InProcessListener,
    attempt: () => Promise<Answer>,
    status: number,
    reason: string,
  ): Promise<Answer> {
    const probe = probes.get(listener) as QueueProbe;
    const before = await probe.deliveriesCount();
    const answer = await attempt();
    expect({ status: answer.status, reason: answer.json.error }).toEqual({ status, reason });
    expect(await probe.deliveriesCount()).toBe(before);
    return answer;
  }

  /** Runs `attempt` and checks it was accepted and enqueued exactly once. */
  async function expectEnqueued(
    listener: InProcessListener,
    attempt: () => Promise<Answer>,
  ): Promise<void> {
    const probe = probes.get(listener) as QueueProbe;
    const before = await probe.deliveriesCount();
    const answer = await attempt();
    expect({ status: answer.status, body: answer.json.status }).toEqual({
      status: 200,
      body: 'enqueued',
    });
    expect(await probe.deliveriesCount()).toBe(before + 1);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cs-hardening-input-'));
    pki = await createHardeningPki(join(dir, 'pki'));
    issuer = await createSigningIssuer('hardening-key-1');
    stranger = await createSigningIssuer('stranger-key');
    jwks = await startJwksServer({
      certPem: pki.authServerCertPem,
      keyPem: pki.authServerKeyPem,
      jwks: { keys: [issuer.jwk] },
    });
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });

    const subjects = [{ subjectDn: CONNECT_SUBJECT }];
    const token = {
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredScope: SCOPE,
      jwksUri: jwks.url,
      jwksCaFile: pki.caBundleFile,
    };
    const hmac = { keys: [{ id: 'primary', secretEnv: 'CS_HARDENING_HMAC' }] };
    const tlsEnv = {
      LISTENER_TLS_CERT_FILE: pki.listenerCertFile,
      LISTENER_TLS_KEY_FILE: pki.listenerKeyFile,
      LISTENER_CLIENT_CA_FILE: pki.caBundleFile,
      CS_HARDENING_HMAC: HMAC_KEY,
    };

    tls = await startInProcessListener({
      dir,
      name: 'tls',
      env: tlsEnv,
      profiles: {
        mtls: { checks: ['mtls'], certificate: { subjects } },
        bound: { checks: ['mtls', 'oauth', 'bound-token'], certificate: { subjects }, token },
        'bound-any': { checks: ['mtls', 'oauth', 'bound-token'], certificate: {}, token },
        hmac: { checks: ['hmac'], hmac },
      },
    });
    proxy = await startInProcessListener({
      dir,
      name: 'proxy',
      env: {
        LISTENER_MODE: 'proxy',
        LISTENER_TRUSTED_PROXIES: '127.0.0.1/32',
        LISTENER_FORWARDED_CERT_FORMAT: 'envoy-xfcc',
        LISTENER_CLIENT_CA_FILE: pki.caBundleFile,
      },
      profiles: {
        mtls: { checks: ['mtls'], certificate: { subjects } },
        any: { checks: ['mtls'], certificate: {} },
      },
    });
    slow = await startInProcessListener({
      dir,
      name: 'slow',
      env: {
        ...tlsEnv,
        LISTENER_HEADERS_TIMEOUT_MS: '1000',
        LISTENER_REQUEST_TIMEOUT_MS: '2000',
      },
      profiles: { hmac: { checks: ['hmac'], hmac } },
    });
    rootTrust = await startInProcessListener({
      dir,
      name: 'root-trust',
      env: { ...tlsEnv, LISTENER_CLIENT_CA_FILE: pki.rootFile },
      profiles: { mtls: { checks: ['mtls'], certificate: { subjects } } },
    });
    probes = new Map(
      [tls, proxy, slow, rootTrust].map((listener) => [listener, new QueueProbe(listener.prefix)]),
    );
  });

  afterAll(async () => {
    for (const probe of probes?.values() ?? []) await probe.close();
    for (const listener of [tls, proxy, slow, rootTrust]) {
      await listener?.close();
      if (listener) await deleteKeys(listener.prefix);
    }
    await jwks?.close();
    redis?.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  describe('TLS client certificates', () => {
    const mtls = (client?: ClientIdentity) => () =>
      post(tls, 'mtls', { tls: { ca: pki.caBundlePem, client } });

    it('accepts the Connect certificate from the trusted CA (control)', async () => {
      await expectEnqueued(tls, mtls(pki.connect));
    });

    it('refuses a connection without a client certificate', async () => {
      await expectRefused(tls, mtls(undefined), 401, 'certificate_missing');
    });

    it('refuses a certificate issued by an untrusted CA', async () => {
      await expectRefused(tls, mtls(pki.unrelated), 401, 'certificate_not_trusted');
    });

    it('refuses an expired certificate', async () => {
      await expectRefused(tls, mtls(pki.expired), 401, 'certificate_expired');
    });

    it('refuses a certificate that is not yet valid', async () => {
      await expectRefused(tls, mtls(pki.notYetValid), 401, 'certificate_not_yet_valid');
    });

    it('refuses a trusted certificate with another subject', async () => {
      await expectRefused(tls, mtls(pki.otherSubject), 401, 'certificate_subject_mismatch');
    });

    it('refuses a self-signed certificate carrying the Connect subject', async () => {
      await expectRefused(tls, mtls(pki.selfSigned), 401, 'certificate_not_trusted');
    });

    it('refuses a client chain missing its intermediate where the listener trusts only the root', async () => {
      const attempt = () =>
        // the client trusts only the root too: OpenSSL would otherwise complete the chain it sends
        post(rootTrust, 'mtls', { tls: { ca: pki.rootPem, client: pki.connectLeafOnly } });
      await expectRefused(rootTrust, attempt, 401, 'certificate_not_trusted');
    });

    it('accepts the same certificate sent with its intermediate where only the root is trusted (control)', async () => {
      const attempt = () =>
        post(rootTrust, 'mtls', { tls: { ca: pki.caBundlePem, client: pki.connect } });
      await expectEnqueued(rootTrust, attempt);
    });
  });

  describe('bearer tokens', () => {
    const withToken =
      (token: string, client: ClientIdentity = pki.connect, profile = 'bound') =>
      () =>
        post(tls, profile, {
          tls: { ca: pki.caBundlePem, client },
          headers: { ...JSON_TYPE, authorization: `Bearer ${token}` },
        });
    const bound = () => ({ claims: { cnf: cnfOf(pki.connect) } });

    it('accepts a token bound to the certificate of this connection (control)', async () => {
      await expectEnqueued(tls, withToken(await issuer.mint(bound())));
    });

    it('refuses an unsigned token (alg none)', async () => {
      const token = unsignedToken(issuer.kid, cnfOf(pki.connect));
      await expectRefused(tls, withToken(token), 401, 'token_alg_not_allowed');
    });

    it('refuses HS256 signed with the public key of the issuer (algorithm confusion)', async () => {
      const token = await publicKeyHmacToken(issuer, cnfOf(pki.connect));
      await expectRefused(tls, withToken(token), 401, 'token_alg_not_allowed');
    });

    it('refuses a token typed JWT instead of at+jwt', async () => {
      const token = await issuer.mint({ ...bound(), header: { typ: 'JWT' } });
      await expectRefused(tls, withToken(token), 401, 'token_typ_invalid');
    });

    it('refuses an issuer that differs only by a trailing slash', async () => {
      const token = await issuer.mint({ claims: { ...bound().claims, iss: `${ISSUER}/` } });
      await expectRefused(tls, withToken(token), 401, 'token_issuer_mismatch');
    });

    it('refuses a token for another audience', async () => {
      const token = await issuer.mint({
        claims: { ...bound().claims, aud: 'https://elsewhere.test/' },
      });
      await expectRefused(tls, withToken(token), 401, 'token_audience_mismatch');
    });

    it('refuses an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await issuer.mint({
        claims: { ...bound().claims, iat: now - 600, exp: now - 120 },
      });
      await expectRefused(tls, withToken(token), 401, 'token_expired');
    });

    it('refuses a token whose nbf is in the future beyond the clock tolerance', async () => {
      const nbf = Math.floor(Date.now() / 1000) + 120;
      const token = await issuer.mint({ claims: { ...bound().claims, nbf } });
      await expectRefused(tls, withToken(token), 401, 'token_not_yet_valid');
    });

    it('accepts a token whose nbf is in the future within the clock tolerance', async () => {
      const nbf = Math.floor(Date.now() / 1000) + 10;
      const token = await issuer.mint({ claims: { ...bound().claims, nbf } });
      await expectEnqueued(tls, withToken(token));
    });

    it('refuses a token without exp', async () => {
      const token = await issuer.mint({ ...bound(), omit: ['exp'] });
      await expectRefused(tls, withToken(token), 401, 'token_claim_missing');
    });

    it('refuses a flood of unknown kids without fetching the JWKS more than the cooldown allows', async () => {
      await expectEnqueued(tls, withToken(await issuer.mint(bound())));
      const before = jwks.fetches();

      for (let i = 0; i < 30; i += 1) {
        const token = await stranger.mint({ ...bound(), header: { kid: randomUUID() } });
        await expectRefused(tls, withToken(token), 401, 'token_unknown_kid');
      }

      // jose refetches on an unknown kid at most once per cooldown (30 s)
      expect(jwks.fetches() - before).toBeLessThanOrEqual(1);
    });

    it('refuses a token signed by another key under the known kid', async () => {
      const token = await stranger.mint({ ...bound(), header: { kid: issuer.kid } });
      await expectRefused(tls, withToken(token), 401, 'token_signature_invalid');
    });

    it('refuses a token replayed over another certificate', async () => {
      const token = await issuer.mint(bound());
      await expectEnqueued(tls, withToken(token, pki.connect, 'bound-any'));
      await expectRefused(
        tls,
        withToken(token, pki.otherSubject, 'bound-any'),
        401,
        'token_binding_mismatch',
      );
    });

    it('refuses a cnf x5t#S256 holding the SHA-1 hex thumbprint', async () => {
      const { sha1Hex } = thumbprintVariants(pki.connect.certPem);
      const token = await issuer.mint({ claims: { cnf: { 'x5t#S256': sha1Hex } } });
      await expectRefused(tls, withToken(token), 401, 'token_binding_mismatch');
    });

    it('refuses a cnf x5t#S256 holding the SHA-256 hex thumbprint', async () => {
      const { sha256Hex } = thumbprintVariants(pki.connect.certPem);
      const token = await issuer.mint({ claims: { cnf: { 'x5t#S256': sha256Hex } } });
      await expectRefused(tls, withToken(token), 401, 'token_binding_mismatch');
    });

    it('refuses a cnf x5t#S256 in padded standard base64', async () => {
      const { sha256PaddedBase64 } = thumbprintVariants(pki.connect.certPem);
      const token = await issuer.mint({ claims: { cnf: { 'x5t#S256': sha256PaddedBase64 } } });
      await expectRefused(tls, withToken(token), 401, 'token_binding_mismatch');
    });

    it('refuses an unbound token where binding is required', async () => {
      await expectRefused(tls, withToken(await issuer.mint()), 401, 'token_not_bound');
    });

    it('refuses a revoked token, even after it was accepted once', async () => {
      const token = await issuer.mint(bound());
      await expectEnqueued(tls, withToken(token));
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
        jti: string;
        exp: number;
      };
      await new TokenRevocationList(redis, tls.prefix).revoke(ISSUER, claims.jti, claims.exp);
      await expectRefused(tls, withToken(token), 401, 'token_revoked');
    });

    it('refuses a token without the required scope with 403', async () => {
      const token = await issuer.mint({ claims: { ...bound().claims, scope: 'other:scope' } });
      await expectRefused(tls, withToken(token), 403, 'token_scope_insufficient');
    });

    it('refuses an Authorization header that is not Bearer', async () => {
      const attempt = () =>
        post(tls, 'bound', {
          tls: { ca: pki.caBundlePem, client: pki.connect },
          headers: { ...JSON_TYPE, authorization: 'Basic ZG9jdXNpZ246cGFzc3dvcmQ=' },
        });
      await expectRefused(tls, attempt, 401, 'token_malformed');
    });

    it('refuses a repeated Authorization header', async () => {
      const token = await issuer.mint(bound());
      const attempt = () =>
        post(tls, 'bound', {
          tls: { ca: pki.caBundlePem, client: pki.connect },
          headers: { ...JSON_TYPE, authorization: [`Bearer ${token}`, `Bearer ${token}`] },
        });
      await expectRefused(tls, attempt, 401, 'token_malformed');
    });
  });

  describe('HMAC signatures', () => {
    const withHeaders = (body: Buffer, headers: Record<string, string | string[]>) => () =>
      post(tls, 'hmac', { body, headers: { ...JSON_TYPE, ...headers } });

    it('accepts a body signed with the configured key (control)', async () => {
      const body = deliveryBody();
      await expectEnqueued(tls, withHeaders(body, signed(body)));
    });

    it('refuses a body with one byte tampered after signing', async () => {
      const body = deliveryBody();
      const headers = signed(body);
      const tampered = Buffer.from(body);
      tampered[tampered.length - 3] ^= 0x01;
      await expectRefused(tls, withHeaders(tampered, headers), 401, 'hmac_mismatch');
    });

    it('refuses a signature computed over the re-serialized body', async () => {
      const event = delivery();
      const sent = Buffer.from(JSON.stringify(event, null, 2));
      const reserialized = JSON.stringify(JSON.parse(sent.toString()) as unknown);
      const headers = { 'x-docusign-signature-1': sign(HMAC_KEY, reserialized) };
      await expectRefused(tls, withHeaders(sent, headers), 401, 'hmac_mismatch');
    });

    it('refuses a signature made with the key minus its trailing =', async () => {
      const body = deliveryBody();
      const headers = { 'x-docusign-signature-1': sign(HMAC_KEY.replace(/=+$/, ''), body) };
      await expectRefused(tls, withHeaders(body, headers), 401, 'hmac_mismatch');
    });

    it('refuses a signature made with the base64-decoded key bytes', async () => {
      const body = deliveryBody();
      const headers = { 'x-docusign-signature-1': sign(Buffer.from(HMAC_KEY, 'base64'), body) };
      await expectRefused(tls, withHeaders(body, headers), 401, 'hmac_mismatch');
    });

    it('refuses 101 signature headers', async () => {
      const body = deliveryBody();
      const headers: Record<string, string> = {};
      for (let i = 1; i <= 101; i += 1) headers[`x-docusign-signature-${i}`] = sign(HMAC_KEY, body);
      await expectRefused(tls, withHeaders(body, headers), 401, 'hmac_too_many_signatures');
    });

    it('refuses a signature header that is not base64', async () => {
      const body = deliveryBody();
      const headers = { 'x-docusign-signature-1': '%%%not*base64%%%' };
      await expectRefused(tls, withHeaders(body, headers), 401, 'hmac_signature_malformed');
    });

    it('refuses a repeated signature header, even when one copy is right', async () => {
      const body = deliveryBody();
      const headers = {
        'x-docusign-signature-1': [sign(HMAC_KEY, body), sign('attacker-key', body)],
      };
      await expectRefused(tls, withHeaders(body, headers), 401, 'hmac_signature_repeated');
    });

    it('refuses a delivery without any signature header', async () => {
      await expectRefused(tls, withHeaders(deliveryBody(), {}), 401, 'hmac_signature_missing');
    });
  });

  describe('forwarded certificates (proxy mode, Envoy XFCC)', () => {
    const forwarded =
      (xfcc: string | string[], profile = 'mtls', localAddress?: string) =>
      () =>
        post(proxy, profile, {
          headers: { ...JSON_TYPE, 'x-forwarded-client-cert': xfcc },
          localAddress,
        });
    const element = (pem: string) => `Hash=abc;Cert="${xfccCert(leafPem(pem))}"`;

    it('accepts the certificate forwarded by the allowlisted proxy (control)', async () => {
      await expectEnqueued(proxy, forwarded(element(pki.connect.certPem)));
    });

    it('refuses the certificate header from an address outside the allowlist', async () => {
      await expectRefused(
        proxy,
        forwarded(element(pki.connect.certPem), 'mtls', '127.0.0.2'),
        401,
        'forwarded_certificate_untrusted_peer',
      );
    });

    it('refuses a repeated certificate header', async () => {
      const value = element(pki.connect.certPem);
      await expectRefused(proxy, forwarded([value, value]), 401, 'forwarded_certificate_repeated');
    });

    it('refuses an XFCC header with two elements', async () => {
      const value = `${element(pki.otherSubject.certPem)},${element(pki.connect.certPem)}`;
      await expectRefused(proxy, forwarded(value), 401, 'forwarded_certificate_multiple_elements');
    });

    it('reads Cert, not a Cert= smuggled inside a quoted Subject', async () => {
      const smuggled = `Cert=${xfccCert(leafPem(pki.connect.certPem))}`;
      const value = `${element(pki.otherSubject.certPem)};Subject="CN=x;${smuggled}"`;
      await expectRefused(proxy, forwarded(value), 401, 'certificate_subject_mismatch');
    });

    it('keeps a literal + of the URL-encoded PEM (not decoded as a space)', async () => {
      const pem = [pki.connect, pki.otherSubject]
        .map((identity) => leafPem(identity.certPem))
        .find((text) => text.includes('+'));
      expect(pem).toBeDefined();
      const value = `Hash=abc;Cert="${xfccCert(pem as string, true)}"`;
      expect(value).toContain('+');
      await expectEnqueued(proxy, forwarded(value, 'any'));
    });

    it('refuses a forwarded value that is not a certificate', async () => {
      const value = `Hash=abc;Cert="${encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n')}"`;
      await expectRefused(proxy, forwarded(value), 401, 'forwarded_certificate_malformed');
    });

    it('refuses a delivery when the proxy forwarded no certificate', async () => {
      await expectRefused(proxy, () => post(proxy, 'mtls'), 401, 'certificate_missing');
    });
  });

  describe('bodies (authenticated by HMAC, so the parser is reached)', () => {
    const signedBody =
      (body: Buffer, headers: Record<string, string> = JSON_TYPE) =>
      () =>
        post(tls, 'hmac', {
          body,
          headers: { ...headers, 'x-docusign-signature-1': sign(HMAC_KEY, body) },
        });

    it('refuses truncated JSON and keeps it in quarantine', async () => {
      const probe = probes.get(tls) as QueueProbe;
      const quarantined = await probe.quarantineCount();
      const body = deliveryBody();
      await expectRefused(
        tls,
        signedBody(body.subarray(0, body.length - 7)),
        400,
        'body_malformed_json',
      );
      expect(await probe.quarantineCount()).toBe(quarantined + 1);
    });

    it('refuses an event whose fields exist only under __proto__', async () => {
      const body = Buffer.from(`{"__proto__":${JSON.stringify(delivery())}}`);
      await expectRefused(tls, signedBody(body), 400, 'body_invalid_event');
    });

    it('drops __proto__ keys of an accepted event without polluting any prototype', async () => {
      const event = delivery();
      const text = JSON.stringify(event).replace(
        '"data":{',
        '"data":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},',
      );
      await expectEnqueued(tls, signedBody(Buffer.from(text)));
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('refuses XML with a DOCTYPE', async () => {
      const body = Buffer.from(
        '<?xml version="1.0"?><!DOCTYPE DocuSignEnvelopeInformation><DocuSignEnvelopeInformation/>',
      );
      await expectRefused(
        tls,
        signedBody(body, { 'content-type': 'text/xml' }),
        400,
        'body_forbidden_dtd',
      );
    });

    it('refuses XML with an external entity', async () => {
      const body = Buffer.from(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
          '<DocuSignEnvelopeInformation><EnvelopeStatus><EnvelopeID>&xxe;</EnvelopeID>' +
          '</EnvelopeStatus></DocuSignEnvelopeInformation>',
      );
      await expectRefused(
        tls,
        signedBody(body, { 'content-type': 'application/xml' }),
        400,
        'body_forbidden_dtd',
      );
    });

    it('refuses the billion laughs', async () => {
      const entities = ['<!ENTITY lol0 "lol">'];
      for (let i = 1; i <= 9; i += 1) {
        entities.push(`<!ENTITY lol${i} "${`&lol${i - 1};`.repeat(10)}">`);
      }
      const body = Buffer.from(
        `<?xml version="1.0"?><!DOCTYPE lolz [${entities.join('')}]>` +
          '<DocuSignEnvelopeInformation>&lol9;</DocuSignEnvelopeInformation>',
      );
      await expectRefused(
        tls,
        signedBody(body, { 'content-type': 'text/xml' }),
        400,
        'body_forbidden_dtd',
      );
    });

    it('refuses a signed body of another content type with 415', async () => {
      await expectRefused(
        tls,
        signedBody(deliveryBody(), { 'content-type': 'text/plain' }),
        415,
        'body_unsupported_media_type',
      );
    });

    it('refuses an empty body', async () => {
      await expectRefused(tls, signedBody(Buffer.alloc(0)), 400, 'body_empty');
    });

    it('never inflates a gzip bomb (compression is not accepted)', async () => {
      const bomb = gzipSync(Buffer.alloc(64 * MIB));
      expect(bomb.length).toBeLessThan(MIB);
      await expectRefused(
        tls,
        signedBody(bomb, { ...JSON_TYPE, 'content-encoding': 'gzip' }),
        400,
        'body_malformed_json',
      );
    });

    it('answers 413 to a declared 40 MB body without reading it', async () => {
      const outcome = await uploadLarge({ declareLength: true });
      expect(outcome).toMatchObject({ status: 413, reason: 'body_too_large' });
      expect(outcome.written).toBeLessThan(8 * MIB);
    });

    it('answers 413 to a chunked 40 MB body once it passes the limit, before the end', async () => {
      const outcome = await uploadLarge({ declareLength: false });
      expect(outcome).toMatchObject({ status: 413, reason: 'body_too_large' });
      expect(outcome.written).toBeLessThan(40 * MIB);
    });
  });

  describe('slow clients', () => {
    it('closes a connection whose headers are trickled past the headers timeout', async () => {
      const outcome = await trickle({
        head: 'POST /connect/hmac HTTP/1.1\r\nHost: localhost\r\n',
        drip: 'X-Slow: a\r\n'.repeat(100),
      });
      expect(outcome.closedAfterMs).toBeLessThan(4000);
      expect(outcome.answer === '' || outcome.answer.startsWith('HTTP/1.1 408')).toBe(true);
    });

    it('closes a connection whose body is trickled past the request timeout', async () => {
      const body = deliveryBody();
      const probe = probes.get(slow) as QueueProbe;
      const before = await probe.deliveriesCount();
      const head =
        'POST /connect/hmac HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\nX-DocuSign-Signature-1: ${sign(HMAC_KEY, body)}\r\n\r\n`;
      const outcome = await trickle({ head, drip: body.toString('latin1') });
      expect(outcome.closedAfterMs).toBeLessThan(5000);
      expect(outcome.answer === '' || outcome.answer.startsWith('HTTP/1.1 408')).toBe(true);
      expect(await probe.deliveriesCount()).toBe(before);
    });
  });

  /** Sends 40 MB in 1 MB chunks until the listener answers; counts the bytes written by then. */
  function uploadLarge(options: {
    declareLength: boolean;
  }): Promise<{ status: number; reason: unknown; written: number }> {
    const total = 40 * MIB;
    const chunk = Buffer.alloc(MIB, 0x20);
    return new Promise((resolve, reject) => {
      let written = 0;
      let answered = false;
      const request = httpsRequest({
        host: '127.0.0.1',
        port: tls.port,
        path: '/connect/hmac',
        method: 'POST',
        agent: false,
        ca: pki.caBundlePem,
        servername: 'localhost',
        headers: {
          ...JSON_TYPE,
          'x-docusign-signature-1': sign(HMAC_KEY, ''),
          ...(options.declareLength ? { 'content-length': String(total) } : {}),
        },
      });
      request.on('response', (response) => {
        answered = true;
        const writtenAtAnswer = written;
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('end', () => {
          let reason: unknown;
          try {
            reason = (JSON.parse(Buffer.concat(parts).toString()) as { error?: unknown }).error;
          } catch {
            reason = undefined;
          }
          request.destroy();
          resolve({ status: response.statusCode ?? 0, reason, written: writtenAtAnswer });
        });
      });
      request.on('error', (error) => {
        if (!answered) reject(error);
      });
      const pump = () => {
        while (!answered && written < total) {
          written += chunk.length;
          if (!request.write(chunk)) {
            request.once('drain', pump);
            return;
          }
        }
        if (!answered) request.end();
      };
      pump();
    });
  }

  /** Writes `head`, then one character of `drip` every 150 ms until the listener closes. */
  function trickle(options: {
    head: string;
    drip: string;
  }): Promise<{ closedAfterMs: number; answer: string }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      let answer = '';
      let timer: NodeJS.Timeout | undefined;
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: slow.port,
        ca: pki.caBundlePem,
        servername: 'localhost',
      });
      const giveUp = setTimeout(() => {
        socket.destroy();
        reject(new Error('the listener kept a trickling connection open for 10 s'));
      }, 10_000);
      socket.on('secureConnect', () => {
        socket.write(options.head);
        let position = 0;
        timer = setInterval(() => {
          if (position < options.drip.length) {
            socket.write(options.drip[position]);
            position += 1;
          }
        }, 150);
      });
      socket.on('data', (data: Buffer) => (answer += data.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        clearTimeout(giveUp);
        resolve({ closedAfterMs: Date.now() - started, answer });
      });
    });
  }
});
