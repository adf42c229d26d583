import { openRedis } from '@countersign/common';
import type { Cluster, Redis } from 'ioredis';
import type { WorkerConfig } from '../config/worker.config.js';
import { settledWithin } from '../shutdown/within.js';

/** A Redis connection: one server or a Redis Cluster (queues carry hash-tagged prefixes). */
export type RedisConnection = Redis | Cluster;

/**
 * Opens a connection from the worker's configuration. BullMQ workers block on Redis and need
 * `forBlockingWorker` (retry forever); producers and the HTTP endpoints fail fast instead.
 */
export function createRedisConnection(
  redis: WorkerConfig['redis'],
  options: { forBlockingWorker?: boolean; name?: string } = {},
): RedisConnection {
  // errors reach the operator through failed commands, /health/ready and the BullMQ worker
  // 'error' events
  return openRedis(redis, options);
}

/**
 * QUITs politely, waiting at most `timeoutMs`, then drops the socket: a connection still
 * connecting (Redis down, or a process stopping right after start) would otherwise stay open.
 */
export async function closeRedisConnection(
  connection: RedisConnection,
  timeoutMs: number,
): Promise<void> {
  await settledWithin(connection.quit(), timeoutMs);
  connection.disconnect();
}

/** Whether Redis answers a PING within `timeoutMs`. */
export async function redisAnswers(redis: RedisConnection, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      redis.ping().then(
        (answer) => answer === 'PONG',
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
