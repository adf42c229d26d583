import { Cluster, Redis } from 'ioredis';
import { redisOptionsFromUrl } from '@countersign/common';
import type { ListenerSettings } from '../config/listener-settings.js';

/**
 * The listener's one Redis connection: a server, or a Redis Cluster. Every key it touches is
 * cluster-safe: each queue's keys (jobs, dedupe marks) share the hash tag of its prefix, and a
 * revocation mark is read with a single-key EXISTS.
 */
export type ListenerRedis = Redis | Cluster;

/**
 * Opens the connection, failing fast: no offline queue, one retry, and commands bounded by the
 * enqueue timeout, so an unreachable Redis answers a delivery with 503 well under 2 s.
 */
export function createListenerRedis({ env, redis }: ListenerSettings): ListenerRedis {
  const base = redisOptionsFromUrl(redis.mode === 'single' ? redis.url : 'redis://placeholder', {
    commandTimeoutMs: env.LISTENER_ENQUEUE_TIMEOUT_MS,
  });
  const connection =
    redis.mode === 'single'
      ? new Redis(base)
      : new Cluster(
          redis.nodes.map(({ host, port }) => ({ host, port })),
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
  // connection errors surface as failed commands (503, not ready); keep them quiet here
  connection.on('error', () => undefined);
  return connection;
}
