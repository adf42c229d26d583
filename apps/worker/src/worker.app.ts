import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { mountQueueBoard } from './board/queue-board.js';
import type { WorkerConfig } from './config/worker.config.js';
import { serveWorkerOpenApi } from './openapi/worker.openapi.js';
import { WorkerModule } from './worker.module.js';

/**
 * Builds the worker application (not yet listening) with the given consumer modules, its OpenAPI
 * document at `/openapi.json` and, when WORKER_BOARD_* is set, the read-only queue board.
 */
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
  const express = app.getHttpAdapter().getInstance() as { disable(setting: string): void };
  express.disable('x-powered-by');
  if (config.board !== undefined) mountQueueBoard(app, config.board);
  serveWorkerOpenApi(app, { boardEnabled: config.board !== undefined });
  return app;
}
