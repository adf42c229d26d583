import { Inject, Injectable } from '@nestjs/common';
import { TokenRevocationList } from '@countersign/common';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';

import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';
import { SigningKeyStore } from '../keys/signing-key.store.js';

/** The claims of a token this server issued, verified. */
export interface IssuedTokenClaims extends JWTPayload {
  readonly iss: string;
  readonly sub: string;
  readonly jti: string;
  readonly exp: number;
  readonly iat: number;
  readonly client_id: string;
  readonly scope?: string;
  readonly cnf?: Record<string, unknown>;
}

/** Reads tokens back for introspection and revocation: only our own, valid, unrevoked tokens. */
@Injectable()
export class TokenInspector {
  constructor(
    @Inject(AUTH_SERVER_CONFIG) private readonly config: AuthServerConfig,
    private readonly keys: SigningKeyStore,
    private readonly revocations: TokenRevocationList,
  ) {}

  /** The verified claims, or undefined for anything that is not a live token of this issuer. */
  async verify(token: string): Promise<IssuedTokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet(this.keys.jwks()), {
        issuer: this.config.issuer,
        typ: 'at+jwt',
        algorithms: ['ES256', 'RS256'],
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id', 'aud'],
      });
      if (typeof payload.client_id !== 'string' || typeof payload.jti !== 'string') {
        return undefined;
      }
      return payload as IssuedTokenClaims;
    } catch {
      return undefined;
    }
  }

  /** Whether the token was revoked. Throws when Redis cannot answer: callers fail closed. */
  isRevoked(claims: IssuedTokenClaims): Promise<boolean> {
    return this.revocations.isRevoked(claims.iss, claims.jti);
  }

  revoke(claims: IssuedTokenClaims): Promise<void> {
    return this.revocations.revoke(claims.iss, claims.jti, claims.exp);
  }
}
