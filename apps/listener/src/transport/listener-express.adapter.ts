import { createServer, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';

/**
 * Nest's Express adapter, with server options (timeouts and how often Node enforces them) on the
 * plain HTTP server too: Nest creates that one without options, so proxy mode would check
 * `headersTimeout` and `requestTimeout` only every 30 s. An HTTPS server gets them beside its TLS
 * options; everything else is Nest's.
 */
export class ListenerExpressAdapter extends ExpressAdapter {
  private readonly sockets = new Set<Socket>();

  constructor(private readonly serverOptions: ServerOptions) {
    super();
  }

  override initHttpServer(options: NestApplicationOptions): void {
    if (options.httpsOptions !== undefined) {
      super.initHttpServer({
        ...options,
        httpsOptions: { ...this.serverOptions, ...options.httpsOptions },
      });
      return;
    }

    // Nest's 503-while-closing goes on the Express app and stays; its connection tracking is on
    // the server it creates, so it is redone below on the server that replaces it
    super.initHttpServer({ ...options, forceCloseConnections: false });
    const server = createServer(this.serverOptions, this.getInstance());
    this.setHttpServer(server);
    if (options.forceCloseConnections === true) {
      server.on('connection', (socket: Socket) => {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
      });
    }
  }

  override close(): Promise<unknown> | undefined {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    return super.close();
  }
}
