import type {
  IncomingMessage,
  ServerOptions as HttpServerOptions,
  ServerResponse,
} from 'node:http';
import type { ServerOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Logger as NestLogger, type NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import type { ListenerSettings, ListenerTlsMaterial } from './config/listener-settings.js';
import { ListenerModule } from './listener.module.js';
import { ListenerMetrics } from './metrics/listener-metrics.js';
import { serveListenerOpenApi } from './openapi/listener.openapi.js';
import {
  handleClientError,
  handleConnectMethod,
  handleMissingHost,
  handleUnmetExpectation,
} from './transport/client-error.js';
import { ListenerExpressAdapter } from './transport/listener-express.adapter.js';

/**
 * The client certificate is requested in the handshake but not required there: each profile
 * decides (the mtls guard reads `socket.authorized`), and bound tokens need the certificate too.
 */
function httpsOptionsOf(tls: ListenerTlsMaterial): NestApplicationOptions['httpsOptions'] {
  const options: ServerOptions = {
    key: tls.key,
    cert: tls.cert,
    // without a client CA nothing is "authorized": never the system roots
    ca: tls.clientCa ?? [],
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
  // Nest's HttpsOptions type omits minVersion; it hands the object to https.createServer as is
  return options as NestApplicationOptions['httpsOptions'];
}

/** Slow-client limits of the server, TLS or plain: both are created with them. */
function serverOptionsOf(env: ListenerSettings['env']): HttpServerOptions {
  return {
    headersTimeout: env.LISTENER_HEADERS_TIMEOUT_MS,
    requestTimeout: env.LISTENER_REQUEST_TIMEOUT_MS,
    // how often Node enforces the two timeouts (its default is every 30 s)
    connectionsCheckingInterval: Math.min(1000, env.LISTENER_HEADERS_TIMEOUT_MS),
    // a missing Host is answered by handleMissingHost with a reason code, not Node's bare 400
    requireHostHeader: false,
  };
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
  const app = await NestFactory.create<NestExpressApplication>(
    ListenerModule.forRoot(settings),
    new ListenerExpressAdapter(serverOptionsOf(env)),
    { bodyParser: false, bufferLogs: true, httpsOptions: tls && httpsOptionsOf(tls) },
  );
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  const transportLogger = new NestLogger('ListenerTransport');
  const metrics = app.get(ListenerMetrics);
  app.use((request: IncomingMessage, response: ServerResponse, next: () => void) => {
    if (!handleMissingHost(request, response, transportLogger, metrics)) next();
  });
  serveListenerOpenApi(app);

  const server = app.getHttpServer();
  server.on('connect', (_request: IncomingMessage, socket: Duplex) =>
    handleConnectMethod(socket, transportLogger, metrics),
  );
  // answer `Expect: 100-continue` only once the header checks passed (see readRawBody)
  server.on('checkContinue', (request, response) => server.emit('request', request, response));
  server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) =>
    handleUnmetExpectation(response, transportLogger, metrics),
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) =>
    handleClientError(error, socket, transportLogger, metrics),
  );
  if (tls !== undefined) {
    server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  }
  return app;
}
