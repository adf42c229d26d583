import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';
import { AuthMetrics } from '../metrics/auth-metrics.js';
import { OAuthError } from './oauth-error.js';

/** Headers every token, introspection and error response carries (RFC 6749 §5.1). */
export function setNoStore(response: Response): void {
  response.setHeader('Cache-Control', 'no-store');
  response.setHeader('Pragma', 'no-cache');
}

/**
 * Turns every failure on the OAuth endpoints into an RFC 6749 §5.2 answer with a generic
 * description. The real reason is logged at warn and counted; unexpected errors become a plain
 * `server_error` and are logged at error.
 */
@Catch()
export class OAuthExceptionFilter implements ExceptionFilter {
  constructor(
    @Inject(AUTH_SERVER_CONFIG) private readonly config: AuthServerConfig,
    private readonly metrics: AuthMetrics,
    @InjectPinoLogger(OAuthExceptionFilter.name) private readonly logger: PinoLogger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const refusal =
      exception instanceof OAuthError
        ? exception
        : new OAuthError('server_error', 'internal_error');

    if (exception instanceof OAuthError) {
      this.logger.warn(
        {
          endpoint: request.path,
          reason: refusal.reason,
          error: refusal.error,
          clientId: refusal.clientId,
          remoteAddress: request.socket?.remoteAddress,
        },
        'refused an OAuth request',
      );
    } else {
      this.logger.error(
        { endpoint: request.path, err: exception instanceof Error ? exception.message : 'unknown' },
        'OAuth request failed',
      );
    }
    if (request.path === '/oauth2/token') {
      this.metrics.refused(refusal.clientId, refusal.reason);
    }

    setNoStore(response);
    let status = refusal.status;
    if (refusal.error === 'invalid_client' && refusal.usedAuthorizationHeader) {
      // RFC 6749 §5.2: 401 with a challenge for the scheme the client used
      status = 401;
      response.setHeader('WWW-Authenticate', `Basic realm="${this.config.issuer}"`);
    }
    if (refusal.retryAfterSeconds !== undefined) {
      response.setHeader('Retry-After', String(refusal.retryAfterSeconds));
    }
    if (refusal.reason === 'method_not_allowed') {
      response.setHeader('Allow', 'POST');
    }
    response.status(status).json({ error: refusal.error, error_description: refusal.description });
  }
}
