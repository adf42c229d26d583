import type { ServerOptions } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import type { ListenerSettings, ListenerTlsMaterial } from './config/listener-settings.js';
import { ListenerModule } from './listener.module.js';
import { serveListenerOpenApi } from './openapi/listener.openapi.js';

/**
 * The client certificate is requested in the handshake but not required there: each profile
 * decides (the mtls guard reads `socket.authorized`), and bound tokens need the certificate too.
 */
function httpsOptionsOf(
  tls: ListenerTlsMaterial,
  headersTimeoutMs: number,
): NestApplicationOptions['httpsOptions'] {
  const options: ServerOptions = {
    key: tls.key,
    cert: tls.cert,
    // without a client CA nothing is "authorized": never the system roots
    ca: tls.clientCa ?? [],
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    // how often Node enforces headersTimeout/requestTimeout (its default is every 30 s)
    connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
  };
  // Nest's HttpsOptions type omits minVersion; it hands the object to https.createServer as is
  return options as NestApplicationOptions['httpsOptions'];
}

/**
 * Builds the listener on its transport: HTTPS that asks for a client certificate during the
 * handshake (TLS 1.2+, no renegotiation), or plain HTTP behind a TLS-terminating proxy. The body
 * is not parsed by Express: the guards read the raw bytes themselves, after the header checks.
 */
export async function createListenerApp(
  settings: ListenerSettings,
): Promise<NestExpressApplication> {
  const { env, tls } = settings;
  const app = await NestFactory.create<NestExpressApplication>(ListenerModule.forRoot(settings), {
    bodyParser: false,
    bufferLogs: true,
    httpsOptions: tls && httpsOptionsOf(tls, env.LISTENER_HEADERS_TIMEOUT_MS),
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  serveListenerOpenApi(app);

  const server = app.getHttpServer();
  server.headersTimeout = env.LISTENER_HEADERS_TIMEOUT_MS;
  server.requestTimeout = env.LISTENER_REQUEST_TIMEOUT_MS;
  // answer `Expect: 100-continue` only once the header checks passed (see readRawBody)
  server.on('checkContinue', (request, response) => server.emit('request', request, response));
  // TODO(proxy mode): Nest builds the plain HTTP server without options, so Node checks these
  // timeouts only every 30 s there; the TLS-terminating proxy is the first line against slow clients
  if (tls !== undefined) {
    server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  }
  return app;
}
