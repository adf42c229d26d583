import type { ServerOptions } from 'node:https';

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';

import { AuthServerModule } from './auth-server.module.js';
import type { AuthServerConfig } from './config/auth-server.config.js';

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
  return app;
}
