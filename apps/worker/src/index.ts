// Run the worker with a team's own consumers next to the shipped ones:
//   await runWorkerProcess([ShippedConsumersModule, TeamConsumersModule]);
export { ConnectConsumer } from './consumer/connect-consumer.decorator.js';
export {
  EnvelopeRejectedError,
  type ConnectConsumerHandler,
  type ConsumerEnvelope,
} from './consumer/connect-consumer-handler.js';
export {
  ConsumerDeclarationError,
  type ConnectConsumerOptions,
  type RetentionOptions,
} from './consumer/consumer-options.js';
export type { ConnectEvent } from '@countersign/connect';
export type { DeliveryEvidence, PayloadStore } from '@countersign/queue';
export { ShippedConsumersModule } from './consumers/shipped-consumers.module.js';
export {
  loadWorkerConfig,
  WORKER_ROLES,
  type WorkerConfig,
  type WorkerRole,
} from './config/worker.config.js';
export { WorkerModule, type WorkerModuleOptions } from './worker.module.js';
export { createWorkerApp } from './worker.app.js';
export { WORKER_CONFIG, REDIS_CONNECTION, PAYLOAD_STORE } from './worker.tokens.js';
export type { RedisConnection } from './redis/redis-connection.js';
export { runWorkerProcess } from './worker.process.js';
