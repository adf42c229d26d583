import 'reflect-metadata';
import { ConfigurationError } from '@countersign/common';
import { loadWorkerConfig } from './config/worker.config.js';
import { ConsumerDeclarationError } from './consumer/consumer-options.js';
import { ShippedConsumersModule } from './consumers/shipped-consumers.module.js';
import { createWorkerApp } from './worker.app.js';

function stopOnStartupError(error: unknown): never {
  if (error instanceof ConfigurationError || error instanceof ConsumerDeclarationError) {
    process.stderr.write(`worker: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadWorkerConfig(process.env);
  } catch (error) {
    stopOnStartupError(error);
  }

  let app;
  try {
    app = await createWorkerApp(config, [ShippedConsumersModule]);
    await app.listen(config.http.port, config.http.host);
  } catch (error) {
    stopOnStartupError(error);
  }

  // SIGTERM: stop taking jobs, let running ones finish within the grace period, exit 0
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

await bootstrap();
