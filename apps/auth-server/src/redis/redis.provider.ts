import type { Provider } from '@nestjs/common';
import { redisOptionsFromUrl } from '@countersign/common';
import { Cluster, Redis } from 'ioredis';

import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';

/** Injection token of the auth-server's Redis connection (fail-fast options). */
export const AUTH_REDIS = Symbol('AUTH_REDIS');

/**
 * A Redis server or a Redis Cluster. Every command the auth-server sends is cluster-safe: one key
 * (revocation marks), or keys under one hash tag in one transaction (failure counters).
 */
export type AuthRedis = Redis | Cluster;

function connect(config: AuthServerConfig): AuthRedis {
  const nodes = config.redisClusterNodes;
  if (nodes === undefined) {
    return new Redis({ ...redisOptionsFromUrl(config.redisUrl), lazyConnect: false });
  }
  const base = redisOptionsFromUrl('redis://placeholder');
  return new Cluster(
    nodes.map(({ host, port }) => ({ host, port })),
    {
      enableOfflineQueue: base.enableOfflineQueue,
      enableReadyCheck: true,
      clusterRetryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
      redisOptions: {
        maxRetriesPerRequest: base.maxRetriesPerRequest,
        connectTimeout: base.connectTimeout,
        commandTimeout: base.commandTimeout,
      },
    },
  );
}

export const redisProvider: Provider = {
  provide: AUTH_REDIS,
  inject: [AUTH_SERVER_CONFIG],
  useFactory: (config: AuthServerConfig) => {
    const redis = connect(config);
    // failures surface as failed commands (503) and /health; without a listener ioredis prints
    // an unstructured stack trace to stderr on every reconnect attempt
    redis.on('error', () => undefined);
    return redis;
  },
};
