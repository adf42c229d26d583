import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger, type ModuleMetadata } from '@nestjs/common';
import { ConfigurationError } from '@countersign/common';
import { loadWorkerConfig } from './config/worker.config.js';
import { ConsumerDeclarationError } from './consumer/consumer-options.js';
import { createWorkerApp } from './worker.app.js';

function stopOnStartupError(error: unknown): never {
  if (error instanceof ConfigurationError || error instanceof ConsumerDeclarationError) {
    process.stderr.write(`worker: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

/**
 * Runs a worker process: configuration from the environment, the given consumer modules, HTTP on
 * WORKER_HTTP_PORT. SIGTERM (or SIGINT) stops taking jobs, lets running ones finish within
 * WORKER_SHUTDOWN_GRACE_MS, and exits 0. A bad configuration or consumer declaration exits 1.
 */
export async function runWorkerProcess(
  consumers: NonNullable<ModuleMetadata['imports']>,
): Promise<void> {
  let config;
  try {
    config = loadWorkerConfig(process.env);
  } catch (error) {
    stopOnStartupError(error);
  }

  let app;
  try {
    app = await createWorkerApp(config, consumers);
    await app.listen(config.http.port, config.http.host);
  } catch (error) {
    stopOnStartupError(error);
  }
  const server = app.getHttpServer() as Server;
  const address = server.address() as AddressInfo | null;
  new Logger('WorkerProcess').log({
    msg: 'worker listening',
    role: config.role,
    host: config.http.host,
    port: address?.port,
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`worker: ${signal} received, draining\n`);
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`worker: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
