import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger, type ModuleMetadata } from '@nestjs/common';
import { ConfigurationError } from '@countersign/common';
import { loadWorkerConfig } from './config/worker.config.js';
import { ConsumerDeclarationError } from './consumer/consumer-options.js';
import { drainOnSignals } from './shutdown/drain-on-signals.js';
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
 * WORKER_SHUTDOWN_GRACE_MS, and exits 0; a further signal during that drain is ignored. A bad
 * configuration or consumer declaration exits 1.
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

  drainOnSignals({
    drain: () => app.close(),
    exit: (code) => process.exit(code),
    write: (text) => process.stderr.write(text),
  });
}
