import type { DynamicModule, RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type { Level } from 'pino';

/**
 * Request headers that may appear in logs. Everything else is left out by configuration: the
 * `Authorization` header, HMAC signatures, cookies and forwarded certificates never reach a log.
 */
export const LOGGED_REQUEST_HEADERS = [
  'content-type',
  'content-length',
  'user-agent',
  'expect',
  'x-docusign-accountid',
  'x-request-id',
] as const;

/**
 * Log paths that hold secrets whatever the caller passes to the logger; pino replaces their values
 * with `[redacted]`. Apps add their own secret setting names through `redact`.
 */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'password',
  'secret',
  'clientSecret',
  'client_secret',
  'token',
  'accessToken',
  'access_token',
  'hmacKey',
  'privateKey',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.client_secret',
  '*.token',
  '*.access_token',
  '*.privateKey',
] as const;

export interface CountersignLoggerOptions {
  readonly app: string;
  readonly level?: Level | 'silent';
  /** More paths to redact, e.g. derived from an app's secret settings. */
  readonly redact?: readonly string[];
  /**
   * Routes that get no request-scoped child logger: a hot route whose lines name their own
   * correlation id (the listener's `deliveryId`) saves the per-request child and its context.
   */
  readonly excludeRoutes?: readonly { path: string; method: RequestMethod }[];
}

function serializeRequest(req: IncomingMessage & { id?: unknown }) {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const name of LOGGED_REQUEST_HEADERS) {
    if (req.headers[name] !== undefined) headers[name] = req.headers[name];
  }
  return {
    id: req.id,
    method: req.method,
    url: req.url,
    remoteAddress: req.socket?.remoteAddress,
    headers,
  };
}

function serializeResponse(res: ServerResponse) {
  return { statusCode: res.statusCode };
}

/** Structured JSON logs (pino) for one app, with secret redaction fixed by configuration. */
export function createLoggerModule(options: CountersignLoggerOptions): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      name: options.app,
      level: options.level ?? 'info',
      redact: { paths: [...REDACTED_LOG_PATHS, ...(options.redact ?? [])], censor: '[redacted]' },
      serializers: { req: serializeRequest, res: serializeResponse },
      autoLogging: false,
      quietReqLogger: true,
    },
    exclude: options.excludeRoutes?.length ? [...options.excludeRoutes] : undefined,
  });
}
