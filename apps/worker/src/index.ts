export { ConnectConsumer } from './consumer/connect-consumer.decorator.js';
export {
  EnvelopeRejectedError,
  type ConnectConsumerHandler,
  type ConsumerEnvelope,
} from './consumer/connect-consumer-handler.js';
export type { ConnectConsumerOptions } from './consumer/consumer-options.js';
export { loadWorkerConfig, type WorkerConfig } from './config/worker.config.js';
export { WorkerModule } from './worker.module.js';
export { createWorkerApp } from './worker.app.js';
export { WORKER_CONFIG, REDIS_CONNECTION, PAYLOAD_STORE } from './worker.tokens.js';
export { runWorkerProcess } from './worker.process.js';
