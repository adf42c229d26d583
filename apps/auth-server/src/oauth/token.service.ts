import { Injectable } from '@nestjs/common';
import { thumbprintS256 } from '@countersign/security';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

import { SCOPE_LIST } from '../clients/clients-file.schema.js';
import type { RegisteredClient } from '../clients/client-registry.js';
import { AuthMetrics } from '../metrics/auth-metrics.js';
import { ClientAuthenticator, type ClientCall } from './client-authenticator.js';
import { OAuthError, type OAuthErrorCode, type RefusalReason } from './oauth-error.js';
import { TokenIssuer } from './token.issuer.js';

/** The RFC 6749 §5.1 success body. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
}

/**
 * The client credentials grant (RFC 6749 §4.4): authenticate the client, check the grant, the
 * scope and the resource, then issue a token bound to the connection's certificate if there is
 * one (RFC 8705 §3), whatever the authentication method.
 */
@Injectable()
export class TokenService {
  constructor(
    private readonly authenticator: ClientAuthenticator,
    private readonly issuer: TokenIssuer,
    private readonly metrics: AuthMetrics,
    @InjectPinoLogger(TokenService.name) private readonly logger: PinoLogger,
  ) {}

  async grant(call: ClientCall): Promise<TokenResponse> {
    const { client, method } = await this.authenticator.authenticate(call);
    const refuse = (error: OAuthErrorCode, reason: RefusalReason) =>
      new OAuthError(error, reason, { clientId: client.clientId });

    const grantType = call.form.get('grant_type');
    if (grantType === undefined) throw refuse('invalid_request', 'grant_type_missing');
    if (grantType !== 'client_credentials') {
      throw refuse('unsupported_grant_type', 'grant_type_unsupported');
    }
    if (!client.grantTypes.includes('client_credentials')) {
      throw refuse('unauthorized_client', 'client_grant_not_allowed');
    }

    const scopes = grantedScopes(client, call.form.get('scope'));
    if (scopes === undefined) throw refuse('invalid_scope', 'scope_not_allowed');

    // RFC 8707: one resource for this grant, and it must be the client's audience
    const resources = new Set(call.form.getAll('resource'));
    if (resources.size > 1 || (resources.size === 1 && !resources.has(client.audience))) {
      throw refuse('invalid_target', 'resource_not_allowed');
    }

    // RFC 8705 §3.4: a client registered for bound tokens never gets an unbound one
    if (client.boundTokensRequired && call.certificate === undefined) {
      throw refuse('invalid_grant', 'bound_token_without_certificate');
    }
    const thumbprint =
      call.certificate === undefined ? undefined : thumbprintS256(call.certificate);

    const issued = await this.issuer.issue({ client, scopes, thumbprint });
    this.metrics.tokenIssued(client.clientId);
    this.logger.info(
      { clientId: client.clientId, method, jti: issued.jti, bound: thumbprint !== undefined },
      'issued an access token',
    );
    return {
      access_token: issued.accessToken,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      scope: issued.scope,
    };
  }
}

// no scope requested means every scope the client is registered for (documented default)
function grantedScopes(client: RegisteredClient, requested: string | undefined) {
  if (requested === undefined) return [...client.scopes];
  if (!SCOPE_LIST.test(requested)) return undefined;
  const scopes = [...new Set(requested.split(' '))];
  return scopes.every((scope) => client.scopes.includes(scope)) ? scopes : undefined;
}
