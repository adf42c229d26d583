import { randomUUID } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import { SignJWT } from 'jose';

import type { RegisteredClient } from '../clients/client-registry.js';
import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';
import { SigningKeyStore } from '../keys/signing-key.store.js';

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly scope: string;
  readonly jti: string;
}

/** Signs RFC 9068 JWT access tokens, bound to a certificate thumbprint when one is given. */
@Injectable()
export class TokenIssuer {
  constructor(
    @Inject(AUTH_SERVER_CONFIG) private readonly config: AuthServerConfig,
    private readonly keys: SigningKeyStore,
  ) {}

  async issue(grant: {
    client: RegisteredClient;
    scopes: readonly string[];
    thumbprint?: string;
  }): Promise<IssuedToken> {
    const signingKey = await this.keys.activeKey();
    const expiresIn = grant.client.tokenTtlSeconds ?? this.config.tokenTtlSeconds;
    const issuedAt = Math.floor(Date.now() / 1000);
    const jti = randomUUID();
    const scope = grant.scopes.join(' ');

    const claims: Record<string, unknown> = { client_id: grant.client.clientId, scope };
    if (grant.thumbprint !== undefined) {
      claims.cnf = { 'x5t#S256': grant.thumbprint };
    }
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: signingKey.alg, typ: 'at+jwt', kid: signingKey.kid })
      .setIssuer(this.config.issuer)
      .setAudience(grant.client.audience)
      .setSubject(grant.client.clientId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + expiresIn)
      .setJti(jti)
      .sign(signingKey.key);
    return { accessToken, expiresIn, scope, jti };
  }
}
