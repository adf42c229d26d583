/** The validated WorkerConfig. */
export const WORKER_CONFIG = Symbol('WORKER_CONFIG');

/** A fail-fast Redis connection (RedisConnection) for producers, consumers and health checks. */
export const REDIS_CONNECTION = Symbol('REDIS_CONNECTION');

/** The listener's payload store (PayloadStore), or undefined when none is configured. */
export const PAYLOAD_STORE = Symbol('PAYLOAD_STORE');
