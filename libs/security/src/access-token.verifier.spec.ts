import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
} from 'jose';

import { AccessTokenVerifier, hasScope } from './access-token.verifier.js';
import { issueTestCertificate, privateKeyPem } from './testing/test-pki.js';

const ISSUER = 'https://auth.countersign.test';
const AUDIENCE = 'https://listener.countersign.test/connect';

interface SigningKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(alg: 'ES256' | 'RS256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function baseClaims(): JWTPayload {
  const now = nowSeconds();
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'docusign-connect',
    client_id: 'docusign-connect',
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 300,
    scope: 'connect:deliver connect:read',
  };
}

async function mint(
  key: SigningKey,
  claims: JWTPayload = baseClaims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header })
    .sign(key.privateKey);
}

function without(claim: string): JWTPayload {
  const claims = baseClaims();
  delete claims[claim];
  return claims;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('access token verification with a local JWKS', () => {
  let es256: SigningKey;
  let rs256: SigningKey;
  let stranger: SigningKey;
  let verifier: AccessTokenVerifier;

  beforeAll(async () => {
    es256 = await signingKey('ES256', 'es-1');
    rs256 = await signingKey('RS256', 'rs-1');
    stranger = await signingKey('ES256', 'es-1');
    verifier = new AccessTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { jwks: { keys: [es256.jwk, rs256.jwk] } },
    });
  });

  it('accepts an ES256 token and normalises aud and scope to arrays', async () => {
    const claims = baseClaims();
    const verdict = await verifier.verify(await mint(es256, claims));
    expect(verdict).toEqual({
      ok: true,
      evidence: {
        iss: ISSUER,
        sub: 'docusign-connect',
        aud: [AUDIENCE],
        client_id: 'docusign-connect',
        jti: claims.jti,
        iat: claims.iat,
        exp: claims.exp,
        scope: ['connect:deliver', 'connect:read'],
      },
    });
    expect(verdict.ok && hasScope(verdict.evidence, 'connect:deliver')).toBe(true);
    expect(verdict.ok && hasScope(verdict.evidence, 'connect')).toBe(false);
  });

  it('accepts an RS256 token', async () => {
    expect((await verifier.verify(await mint(rs256))).ok).toBe(true);
  });

  it('keeps cnf for the binding check', async () => {
    const verdict = await verifier.verify(
      await mint(es256, { ...baseClaims(), cnf: { 'x5t#S256': 'abc' } }),
    );
    expect(verdict.ok && verdict.evidence.cnf).toEqual({ 'x5t#S256': 'abc' });
  });

  it.each(['application/at+jwt', 'AT+JWT', 'Application/AT+JWT'])(
    'accepts the typ %s',
    async (typ) => {
      expect((await verifier.verify(await mint(es256, baseClaims(), { typ }))).ok).toBe(true);
    },
  );

  it.each(['JWT', 'at+jwt+other', 'application/jwt'])('rejects the typ %s', async (typ) => {
    expect(await verifier.verify(await mint(es256, baseClaims(), { typ }))).toMatchObject({
      reason: 'token_typ_invalid',
    });
  });

  it('rejects a token without typ', async () => {
    const token = await new SignJWT(baseClaims())
      .setProtectedHeader({ alg: 'ES256', kid: es256.kid })
      .sign(es256.privateKey);
    expect(await verifier.verify(token)).toMatchObject({ reason: 'token_typ_invalid' });
  });

  it('rejects an unsigned token (alg none)', async () => {
    const token = `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url(baseClaims())}.`;
    expect(await verifier.verify(token)).toMatchObject({ reason: 'token_alg_not_allowed' });
  });

  it('rejects an HS256 token keyed with the public key bytes', async () => {
    const secret = new TextEncoder().encode(await exportSPKI(rs256.publicKey));
    const token = await new SignJWT(baseClaims())
      .setProtectedHeader({ alg: 'HS256', kid: rs256.kid, typ: 'at+jwt' })
      .sign(secret);
    expect(await verifier.verify(token)).toMatchObject({ reason: 'token_alg_not_allowed' });
  });

  it('rejects an algorithm left out of a narrowed allowlist', async () => {
    const esOnly = new AccessTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      keys: { jwks: { keys: [es256.jwk, rs256.jwk] } },
    });
    expect(await esOnly.verify(await mint(rs256))).toMatchObject({
      reason: 'token_alg_not_allowed',
    });
  });

  it('refuses to be configured with an HS algorithm', () => {
    expect(
      () =>
        new AccessTokenVerifier({
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['HS256' as 'ES256'],
          keys: { jwks: { keys: [] } },
        }),
    ).toThrow(/algorithms/);
  });

  it.each([
    ['another issuer', 'https://evil.test'],
    ['the issuer with a trailing slash', `${ISSUER}/`],
    ['the issuer in another case', ISSUER.toUpperCase()],
  ])('rejects %s', async (_label, iss) => {
    expect(await verifier.verify(await mint(es256, { ...baseClaims(), iss }))).toMatchObject({
      reason: 'token_issuer_mismatch',
    });
  });

  it('rejects a token for another audience', async () => {
    const token = await mint(es256, { ...baseClaims(), aud: ['https://other.test'] });
    expect(await verifier.verify(token)).toMatchObject({ reason: 'token_audience_mismatch' });
  });

  it('accepts a token whose audience list includes this listener', async () => {
    const token = await mint(es256, { ...baseClaims(), aud: ['https://other.test', AUDIENCE] });
    const verdict = await verifier.verify(token);
    expect(verdict.ok && verdict.evidence.aud).toEqual(['https://other.test', AUDIENCE]);
  });

  it('rejects a token expired beyond the clock tolerance', async () => {
    const now = nowSeconds();
    const token = await mint(es256, { ...baseClaims(), iat: now - 600, exp: now - 31 });
    expect(await verifier.verify(token)).toMatchObject({ reason: 'token_expired' });
  });

  it('accepts a token expired within the 30 s clock tolerance', async () => {
    const now = nowSeconds();
    const token = await mint(es256, { ...baseClaims(), iat: now - 600, exp: now - 10 });
    expect((await verifier.verify(token)).ok).toBe(true);
  });

  it('rejects a token whose nbf is beyond the clock tolerance', async () => {
    const token = await mint(es256, { ...baseClaims(), nbf: nowSeconds() + 120 });
    expect(await verifier.verify(token)).toMatchObject({ reason: 'token_not_yet_valid' });
  });

  it('accepts a token whose nbf is within the clock tolerance', async () => {
    const nbf = nowSeconds() + 10;
    const verdict = await verifier.verify(await mint(es256, { ...baseClaims(), nbf }));
    expect(verdict.ok && verdict.evidence.nbf).toBe(nbf);
  });

  it.each(['exp', 'iat', 'jti', 'sub', 'client_id'])(
    'rejects a token without %s as token_claim_missing',
    async (claim) => {
      expect(await verifier.verify(await mint(es256, without(claim)))).toMatchObject({
        reason: 'token_claim_missing',
      });
    },
  );

  it('rejects a token without aud', async () => {
    expect(await verifier.verify(await mint(es256, without('aud')))).toMatchObject({
      reason: 'token_claim_missing',
    });
  });

  it.each([
    ['client_id is a number', { client_id: 42 }],
    ['scope is an array', { scope: ['connect:deliver'] }],
    ['cnf is a string', { cnf: 'x5t' }],
    ['exp is past the last representable date', { exp: 1e308 }],
    ['exp is just past the last representable date', { exp: 8.64e12 + 1 }],
  ])('rejects a token where %s', async (_label, patch) => {
    expect(await verifier.verify(await mint(es256, { ...baseClaims(), ...patch }))).toMatchObject({
      reason: 'token_claim_invalid',
    });
  });

  it('rejects a token signed with an unknown kid', async () => {
    const other = await signingKey('ES256', 'es-unknown');
    expect(await verifier.verify(await mint(other))).toMatchObject({ reason: 'token_unknown_kid' });
  });

  it('rejects a token signed by another key under a known kid', async () => {
    expect(await verifier.verify(await mint(stranger))).toMatchObject({
      reason: 'token_signature_invalid',
    });
  });

  it('rejects a token whose payload was altered after signing', async () => {
    const [header, , signature] = (await mint(es256)).split('.');
    const forged = `${header}.${b64url({ ...baseClaims(), scope: 'admin' })}.${signature}`;
    expect(await verifier.verify(forged)).toMatchObject({ reason: 'token_signature_invalid' });
  });

  it.each([
    ['garbage', 'not-a-token'],
    ['two segments', 'a.b'],
    ['a header that is not JSON', `${Buffer.from('{').toString('base64url')}.e30.c2ln`],
    ['a JWE-shaped token', 'a.b.c.d.e'],
  ])('rejects %s as token_malformed', async (_label, token) => {
    expect(await verifier.verify(token)).toMatchObject({ reason: 'token_malformed' });
  });

  it('rejects an empty token as token_missing', async () => {
    expect(await verifier.verify('')).toMatchObject({ reason: 'token_missing' });
  });

  it('reports a local key set as always fresh', () => {
    expect(verifier.jwksFreshness()).toEqual({ ok: true });
  });
});

describe('access token verification with a remote JWKS', () => {
  let first: SigningKey;
  let second: SigningKey;
  let served: JSONWebKeySet;
  let status: number;
  let requests: number;
  let server: Server;
  let jwksUri: string;

  beforeAll(async () => {
    first = await signingKey('ES256', 'remote-1');
    second = await signingKey('RS256', 'remote-2');
    server = createHttpServer((_req, res) => {
      requests += 1;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(served));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });

  beforeEach(() => {
    served = { keys: [first.jwk] };
    status = 200;
    requests = 0;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const remoteVerifier = (cooldownMs = 60_000) =>
    new AccessTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { jwksUri, cooldownMs, timeoutMs: 2000 },
    });

  it('fetches the key set once and reuses it', async () => {
    const verifier = remoteVerifier();
    expect(verifier.jwksFreshness().ok).toBe(false);
    expect((await verifier.verify(await mint(first))).ok).toBe(true);
    expect((await verifier.verify(await mint(first))).ok).toBe(true);
    expect(requests).toBe(1);
    const freshness = verifier.jwksFreshness();
    expect(freshness.ok).toBe(true);
    expect(freshness.lastFetchedAt).toBeInstanceOf(Date);
  });

  it('refetches on an unknown kid after the cooldown, picking up a rotated key', async () => {
    const verifier = remoteVerifier(0);
    expect((await verifier.verify(await mint(first))).ok).toBe(true);
    served = { keys: [first.jwk, second.jwk] };
    expect((await verifier.verify(await mint(second))).ok).toBe(true);
    expect(requests).toBe(2);
  });

  it('does not refetch for unknown kids during the cooldown', async () => {
    const verifier = remoteVerifier(60_000);
    expect((await verifier.verify(await mint(first))).ok).toBe(true);
    const unknown = await signingKey('ES256', 'flood');
    for (let i = 0; i < 5; i += 1) {
      expect(await verifier.verify(await mint(unknown))).toMatchObject({
        reason: 'token_unknown_kid',
      });
    }
    expect(requests).toBe(1);
  });

  it('rejects with token_jwks_unavailable when the endpoint fails', async () => {
    status = 500;
    const verifier = remoteVerifier();
    expect(await verifier.verify(await mint(first))).toMatchObject({
      reason: 'token_jwks_unavailable',
    });
    expect(verifier.jwksFreshness().ok).toBe(false);
    await expect(verifier.refreshJwks()).resolves.toBe(false);
  });

  it('rejects with token_jwks_unavailable when nothing listens', async () => {
    const verifier = new AccessTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { jwksUri: 'http://127.0.0.1:1/jwks', timeoutMs: 2000 },
    });
    expect(await verifier.verify(await mint(first))).toMatchObject({
      reason: 'token_jwks_unavailable',
    });
  });

  it('loads the key set ahead of the first token with refreshJwks', async () => {
    const verifier = remoteVerifier();
    await expect(verifier.refreshJwks()).resolves.toBe(true);
    expect(verifier.jwksFreshness().ok).toBe(true);
  });
});

describe('access token verification with a JWKS behind a private CA', () => {
  it('fetches over HTTPS trusting only the configured CA', async () => {
    const ca = await issueTestCertificate({ subject: 'CN=JWKS Test CA', ca: true });
    const tlsCert = await issueTestCertificate({
      subject: 'CN=localhost',
      issuer: ca,
      sans: [{ type: 'ip', value: '127.0.0.1' }],
    });
    const key = await signingKey('ES256', 'tls-1');
    const server = createHttpsServer(
      { key: await privateKeyPem(tlsCert), cert: tlsCert.pem },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [key.jwk] }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const jwksUri = `https://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;

    try {
      const trusting = new AccessTokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: { jwksUri, ca: ca.pem },
      });
      expect((await trusting.verify(await mint(key))).ok).toBe(true);
      await trusting.close();

      const systemRoots = new AccessTokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: { jwksUri },
      });
      expect(await systemRoots.verify(await mint(key))).toMatchObject({
        reason: 'token_jwks_unavailable',
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
