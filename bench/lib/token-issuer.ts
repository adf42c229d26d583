import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
} from 'jose';

/** The issuer, audience and scope every bench token carries and every bench server requires. */
export const BENCH_TOKEN = {
  issuer: 'https://auth.bench.countersign.test',
  audience: 'https://listener.bench.countersign.test/connect/bench',
  scope: 'connect:deliver',
  clientId: 'bench-connect',
} as const;

/** Signs RFC 9068 access tokens like the auth-server does, with a JWKS both sides load. */
export interface BenchTokenIssuer {
  readonly jwks: JSONWebKeySet;
  /** A token bound (cnf x5t#S256) to the certificate with this thumbprint. */
  mint(options: { thumbprint?: string; ttlSeconds?: number; scope?: string }): Promise<string>;
}

/** Creates an ES256 issuer and, when `jwksFile` is given, writes its public JWKS there. */
export async function createTokenIssuer(jwksFile?: string): Promise<BenchTokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const jwks: JSONWebKeySet = { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] };
  if (jwksFile !== undefined) await writeFile(jwksFile, JSON.stringify(jwks));

  return {
    jwks,
    mint: ({ thumbprint, ttlSeconds = 3600, scope = BENCH_TOKEN.scope }) =>
      sign(privateKey, kid, { thumbprint, ttlSeconds, scope }),
  };
}

async function sign(
  key: CryptoKey,
  kid: string,
  options: { thumbprint?: string; ttlSeconds: number; scope: string },
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    client_id: BENCH_TOKEN.clientId,
    scope: options.scope,
    ...(options.thumbprint !== undefined ? { cnf: { 'x5t#S256': options.thumbprint } } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(BENCH_TOKEN.issuer)
    .setAudience(BENCH_TOKEN.audience)
    .setSubject(BENCH_TOKEN.clientId)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlSeconds)
    .sign(key);
}
