import type { Provider } from '@nestjs/common';
import { redisOptionsFromUrl } from '@countersign/common';
import { Redis } from 'ioredis';

import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';

/** Injection token of the auth-server's Redis connection (fail-fast options). */
export const AUTH_REDIS = Symbol('AUTH_REDIS');

export const redisProvider: Provider = {
  provide: AUTH_REDIS,
  inject: [AUTH_SERVER_CONFIG],
  useFactory: (config: AuthServerConfig) => {
    const redis = new Redis({ ...redisOptionsFromUrl(config.redisUrl), lazyConnect: false });
    // failures surface as failed commands (503) and /health; without a listener ioredis prints
    // an unstructured stack trace to stderr on every reconnect attempt
    redis.on('error', () => undefined);
    return redis;
  },
};
