import { randomUUID } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK } from 'jose';

export const ISSUER = 'https://auth.hardening.countersign.test';
export const AUDIENCE = 'https://listener.hardening.countersign.test/connect';
export const SCOPE = 'connect:events';

/** Options of one minted token: claims merged over valid ones, header members, claims removed. */
export interface MintOptions {
  readonly claims?: Record<string, unknown>;
  readonly header?: Record<string, unknown>;
  readonly omit?: readonly string[];
}

/** An ES256 key as an authorization server holds it, minting RFC 9068 access tokens. */
export interface SigningIssuer {
  readonly kid: string;
  readonly jwk: JWK;
  readonly publicKeyPem: string;
  mint(options?: MintOptions): Promise<string>;
}

/** Valid claims for now: issuer, audience, scope, a fresh jti, five minutes of life. */
export function validClaims(): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'docusign-connect',
    client_id: 'docusign-connect',
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    scope: SCOPE,
  };
}

export async function createSigningIssuer(kid: string): Promise<SigningIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    kid,
    jwk,
    publicKeyPem: await exportSPKI(publicKey),
    async mint(options = {}) {
      const payload = { ...validClaims(), ...options.claims };
      for (const name of options.omit ?? []) delete payload[name];
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid, ...options.header })
        .sign(privateKey);
    },
  };
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** `alg: none`, no signature, otherwise valid claims. */
export function unsignedToken(kid: string, cnf: Record<string, unknown>): string {
  return `${base64url({ alg: 'none', typ: 'at+jwt', kid })}.${base64url({ ...validClaims(), cnf })}.`;
}

/** HS256 keyed with the issuer's public key text: the algorithm-confusion forgery. */
export async function publicKeyHmacToken(
  issuer: SigningIssuer,
  cnf: Record<string, unknown>,
): Promise<string> {
  return new SignJWT({ ...validClaims(), cnf })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: issuer.kid })
    .sign(new TextEncoder().encode(issuer.publicKeyPem));
}
