import type { Provider } from '@nestjs/common';
import { openRedis } from '@countersign/common';
import type { Cluster, Redis } from 'ioredis';

import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';

/** Injection token of the auth-server's Redis connection (fail-fast options). */
export const AUTH_REDIS = Symbol('AUTH_REDIS');

/**
 * A Redis server or a Redis Cluster. Every command the auth-server sends is cluster-safe: one key
 * (revocation marks), or keys under one hash tag in one transaction (failure counters).
 */
export type AuthRedis = Redis | Cluster;

export const redisProvider: Provider = {
  provide: AUTH_REDIS,
  inject: [AUTH_SERVER_CONFIG],
  useFactory: (config: AuthServerConfig): AuthRedis =>
    openRedis(
      config.redisClusterNodes === undefined
        ? { mode: 'single', url: config.redisUrl }
        : { mode: 'cluster', nodes: config.redisClusterNodes },
    ),
};
