import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { TokenRevocationList } from '@countersign/common';
import { hasScope, type AccessTokenClaims } from '@countersign/security';
import { deliveryOf } from '../delivery/delivery-context.js';
import { ListenerMetrics } from '../metrics/listener-metrics.js';
import { requiresCheck } from '../profiles/delivery-profile.js';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The single `Authorization` header value; a repeated header is refused, not merged. */
export function singleAuthorization(request: Request): string | undefined | null {
  let value: string | undefined;
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    if (request.rawHeaders[i].toLowerCase() !== 'authorization') continue;
    if (value !== undefined) return null;
    value = request.rawHeaders[i + 1];
  }
  return value;
}

/**
 * The `oauth` check: an RFC 9068 access token from the profile's issuer, for its audience, with
 * its scope, not revoked. A verified token is cached until its `exp`; the revocation check (and
 * the binding guard after this one) still run on every delivery.
 */
@Injectable()
export class BearerTokenGuard implements CanActivate {
  constructor(
    private readonly metrics: ListenerMetrics,
    @Inject(TokenRevocationList) private readonly revocations: TokenRevocationList,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Request>();
    const delivery = deliveryOf(request);
    const rules = delivery.profile.token;
    if (!requiresCheck(delivery.profile, 'oauth') || rules === undefined) return true;

    await this.metrics.timeCheck('oauth', async () => {
      const header = singleAuthorization(request);
      if (header === null) throw new DeliveryRejection('token_malformed', 'repeated Authorization');
      if (header === undefined || header.trim() === '') {
        throw new DeliveryRejection('token_missing');
      }
      const token = BEARER.exec(header)?.[1];
      if (token === undefined) {
        throw new DeliveryRejection('token_malformed', 'not a Bearer authorization');
      }

      let claims: AccessTokenClaims | undefined = rules.cache.get(token);
      this.metrics.tokenCache.inc({ result: claims === undefined ? 'miss' : 'hit' });
      if (claims === undefined) {
        const verdict = await rules.verifier.verify(token);
        if (!verdict.ok) throw new DeliveryRejection(verdict.reason, verdict.detail);
        claims = verdict.evidence;
        rules.cache.set(token, claims);
      }

      let revoked: boolean;
      try {
        revoked = await this.revocations.isRevoked(claims.iss, claims.jti);
      } catch {
        throw new DeliveryRejection('revocation_unavailable', 'Redis did not answer');
      }
      if (revoked) throw new DeliveryRejection('token_revoked', `jti ${claims.jti}`);

      if (!hasScope(claims, rules.requiredScope)) {
        throw new DeliveryRejection('token_scope_insufficient', `needs ${rules.requiredScope}`);
      }

      delivery.tokenClaims = claims;
      delivery.token = {
        issuer: claims.iss,
        clientId: claims.client_id,
        subject: claims.sub,
        jti: claims.jti,
        scope: claims.scope,
        expiresAt: new Date(claims.exp * 1000).toISOString(),
      };
      delivery.passed.push('oauth');
    });
    return true;
  }
}
