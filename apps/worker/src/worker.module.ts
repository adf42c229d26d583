import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { createLoggerModule, MetricsModule } from '@countersign/common';
import { DirectoryPayloadStore } from '@countersign/queue';
import type { WorkerConfig } from './config/worker.config.js';
import { ConsumerRegistry } from './consumer/consumer-registry.js';
import { ConsumerRunner } from './consumer/consumer-runner.service.js';
import { DeadLetterStore } from './dead-letters/dead-letter-store.js';
import { Dispatcher } from './dispatcher/dispatcher.service.js';
import { HealthController } from './health/health.controller.js';
import { QueueDepthCollector } from './metrics/queue-depth.collector.js';
import { WorkerMetrics } from './metrics/worker-metrics.js';
import { QueueRegistry } from './redis/queue-registry.js';
import { createRedisConnection } from './redis/redis-connection.js';
import { PAYLOAD_STORE, REDIS_CONNECTION, WORKER_CONFIG } from './worker.tokens.js';

export interface WorkerModuleOptions {
  readonly config: WorkerConfig;
  /** Modules that declare `@ConnectConsumer` classes (the shipped ones, a team's own). */
  readonly consumers: NonNullable<ModuleMetadata['imports']>;
}

/**
 * The worker: discovers the consumers in `consumers` and, as the configured role says, runs the
 * dispatcher, the consumers, or both, with health and metrics on its HTTP port.
 */
@Module({})
export class WorkerModule {
  static forRoot(options: WorkerModuleOptions): DynamicModule {
    const { config } = options;
    return {
      module: WorkerModule,
      global: true,
      imports: [
        DiscoveryModule,
        createLoggerModule({ app: 'worker', level: config.logLevel }),
        MetricsModule.forRoot('worker'),
        ...options.consumers,
      ],
      controllers: [HealthController],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        {
          provide: REDIS_CONNECTION,
          useFactory: () => createRedisConnection(config.redis, { name: 'worker' }),
        },
        {
          provide: PAYLOAD_STORE,
          useValue: config.payloadDir ? new DirectoryPayloadStore(config.payloadDir) : undefined,
        },
        QueueRegistry,
        {
          provide: DeadLetterStore,
          inject: [QueueRegistry],
          useFactory: (queues: QueueRegistry) => new DeadLetterStore((name) => queues.queue(name)),
        },
        WorkerMetrics,
        QueueDepthCollector,
        ConsumerRegistry,
        Dispatcher,
        ConsumerRunner,
      ],
      exports: [WORKER_CONFIG, REDIS_CONNECTION, PAYLOAD_STORE, QueueRegistry, DeadLetterStore],
    };
  }
}
