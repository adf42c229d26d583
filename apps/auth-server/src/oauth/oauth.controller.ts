import { All, Controller, HttpCode, Post, Req, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

import {
  ApiIntrospectionEndpoint,
  ApiRevocationEndpoint,
  ApiTokenEndpoint,
} from '../openapi/auth-server.openapi.js';
import { ClientAuthenticator } from './client-authenticator.js';
import { readClientCall } from './client-call.js';
import { OAuthError } from './oauth-error.js';
import { OAuthExceptionFilter, setNoStore } from './oauth-exception.filter.js';
import { TokenInspector } from './token.inspector.js';
import { TokenService, type TokenResponse } from './token.service.js';

/** RFC 7662 answer for anything that is not a live token. */
const INACTIVE = { active: false } as const;

/** The token (RFC 6749), introspection (RFC 7662) and revocation (RFC 7009) endpoints. */
@Controller('oauth2')
@UseFilters(OAuthExceptionFilter)
export class OAuthController {
  constructor(
    private readonly tokens: TokenService,
    private readonly authenticator: ClientAuthenticator,
    private readonly inspector: TokenInspector,
    @InjectPinoLogger(OAuthController.name) private readonly logger: PinoLogger,
  ) {}

  @Post('token')
  @HttpCode(200)
  @ApiTokenEndpoint()
  async token(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<TokenResponse> {
    setNoStore(response);
    return this.tokens.grant(await readClientCall(request));
  }

  @Post('introspect')
  @HttpCode(200)
  @ApiIntrospectionEndpoint()
  async introspect(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    setNoStore(response);
    const call = await readClientCall(request);
    const { client } = await this.authenticator.authenticate(call);
    const token = call.form.get('token');
    if (token === undefined) {
      throw new OAuthError('invalid_request', 'token_missing', { clientId: client.clientId });
    }

    const claims = await this.inspector.verify(token);
    if (claims === undefined) return INACTIVE;
    if (await this.revoked(claims, client.clientId)) return INACTIVE;
    return {
      active: true,
      token_type: 'Bearer',
      iss: claims.iss,
      sub: claims.sub,
      aud: claims.aud,
      client_id: claims.client_id,
      scope: claims.scope,
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
      ...(claims.cnf === undefined ? {} : { cnf: claims.cnf }),
    };
  }

  @Post('revoke')
  @HttpCode(200)
  @ApiRevocationEndpoint()
  async revoke(
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, never>> {
    setNoStore(response);
    const call = await readClientCall(request);
    const { client } = await this.authenticator.authenticate(call);
    const token = call.form.get('token');
    if (token === undefined) {
      throw new OAuthError('invalid_request', 'token_missing', { clientId: client.clientId });
    }

    // RFC 7009 §2.2: an invalid or expired token is not an error
    const claims = await this.inspector.verify(token);
    if (claims === undefined) return {};
    if (claims.client_id !== client.clientId) {
      throw new OAuthError('invalid_request', 'token_foreign_client', {
        clientId: client.clientId,
      });
    }
    try {
      await this.inspector.revoke(claims);
    } catch {
      throw new OAuthError('temporarily_unavailable', 'revocation_unavailable', {
        clientId: client.clientId,
      });
    }
    this.logger.info({ clientId: client.clientId, jti: claims.jti }, 'revoked an access token');
    return {};
  }

  // RFC 6749 §3.2: the token endpoint takes POST only
  @All(['token', 'introspect', 'revoke'])
  @ApiExcludeEndpoint()
  notAllowed(): never {
    throw new OAuthError('invalid_request', 'method_not_allowed', { status: 405 });
  }

  private async revoked(claims: Parameters<TokenInspector['isRevoked']>[0], clientId: string) {
    try {
      return await this.inspector.isRevoked(claims);
    } catch {
      throw new OAuthError('temporarily_unavailable', 'revocation_unavailable', { clientId });
    }
  }
}
