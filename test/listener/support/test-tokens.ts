import { randomUUID } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK } from 'jose';

export const TEST_ISSUER = 'https://auth.countersign.test';
export const TEST_AUDIENCE = 'https://listener.countersign.test/connect';
export const TEST_SCOPE = 'connect:events';

/** An ES256 signing key with its public JWK, as an authorization server would hold it. */
export interface TokenIssuer {
  readonly jwks: { keys: JWK[] };
  readonly publicKeyPem: string;
  mint(options?: {
    claims?: Record<string, unknown>;
    header?: Record<string, unknown>;
    expiresIn?: string | number;
    omit?: string[];
  }): Promise<string>;
}

/** Creates an issuer that mints RFC 9068 access tokens (typ at+jwt, every required claim). */
export async function createTokenIssuer(kid = 'test-key-1'): Promise<TokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    jwks: { keys: [jwk] },
    publicKeyPem: await exportSPKI(publicKey),
    async mint(options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        iss: TEST_ISSUER,
        aud: TEST_AUDIENCE,
        sub: 'docusign-connect',
        client_id: 'docusign-connect',
        jti: randomUUID(),
        iat: now,
        exp: now + 300,
        scope: TEST_SCOPE,
        ...options.claims,
      };
      for (const name of options.omit ?? []) delete payload[name];
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...options.header })
        .sign(privateKey);
    },
  };
}

/** `cnf` binding a token to a certificate thumbprint (RFC 8705). */
export function boundTo(thumbprint: string): Record<string, unknown> {
  return { cnf: { 'x5t#S256': thumbprint } };
}

/** An unsigned token (`alg: none`) with otherwise valid claims. */
export function unsignedToken(): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'at+jwt' })}.${encode({
    iss: TEST_ISSUER,
    aud: TEST_AUDIENCE,
    sub: 'docusign-connect',
    client_id: 'docusign-connect',
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    scope: TEST_SCOPE,
  })}.`;
}

/** HS256 "signed" with the issuer's public key text: the classic algorithm-confusion forgery. */
export async function publicKeyHmacToken(issuer: TokenIssuer): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    sub: 'docusign-connect',
    client_id: 'docusign-connect',
    jti: randomUUID(),
    scope: TEST_SCOPE,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: issuer.jwks.keys[0].kid })
    .setIssuer(TEST_ISSUER)
    .setAudience(TEST_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(issuer.publicKeyPem));
}
