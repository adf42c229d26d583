import type { ServerOptions } from 'node:https';

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { serveOpenApiDocument } from '@countersign/common';
import { Logger } from 'nestjs-pino';

import { AuthServerModule } from './auth-server.module.js';
import type { AuthServerConfig } from './config/auth-server.config.js';
import {
  addClientCertificateScheme,
  configureAuthServerDocument,
} from './openapi/auth-server.openapi.js';

/** Version of the documented HTTP interface. */
const AUTH_SERVER_API_VERSION = '1.0.0';

/**
 * Creates the HTTPS application. The TLS layer asks every client for a certificate but lets the
 * handshake finish without one (RFC 8705 §6.1); each client's rules are enforced per request.
 * Body parsers are off: the OAuth endpoints parse their own form bodies strictly.
 */
export async function createAuthServer(config: AuthServerConfig): Promise<INestApplication> {
  const httpsOptions: Pick<
    ServerOptions,
    'cert' | 'key' | 'ca' | 'requestCert' | 'rejectUnauthorized' | 'minVersion'
  > = {
    cert: config.tls.cert,
    key: config.tls.key,
    // only the dedicated client CA decides `socket.authorized`; never the system roots
    ca: config.tls.clientCa ?? [],
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: config.tls.minVersion,
  };
  const app = await NestFactory.create<NestExpressApplication>(AuthServerModule.forRoot(config), {
    bodyParser: false,
    bufferLogs: true,
    httpsOptions,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.enableShutdownHooks();
  serveOpenApiDocument(app, {
    title: 'Countersign auth-server',
    description:
      'OAuth 2.0 authorization server for DocuSign Connect: client credentials grant, mTLS client ' +
      'authentication and certificate-bound JWT access tokens (RFC 6749, 7662, 7009, 8414, 8705).',
    version: AUTH_SERVER_API_VERSION,
    configure: (builder) => configureAuthServerDocument(builder).addServer(config.issuer),
    complete: addClientCertificateScheme,
  });
  return app;
}
