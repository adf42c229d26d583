import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import type { WorkerConfig } from './config/worker.config.js';
import { WorkerModule } from './worker.module.js';

/** Builds the worker application (not yet listening) with the given consumer modules. */
export async function createWorkerApp(
  config: WorkerConfig,
  consumers: NonNullable<ModuleMetadata['imports']>,
): Promise<INestApplication> {
  const app = await NestFactory.create(WorkerModule.forRoot({ config, consumers }), {
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  return app;
}
