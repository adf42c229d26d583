import { redisOptionsFromUrl } from '@countersign/common';
import { Cluster, Redis } from 'ioredis';
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
  const connection = open(redis, options);
  // connection errors reach the operator through failed commands, /health/ready and the BullMQ
  // worker 'error' events; without a listener ioredis would print each retry to stderr
  connection.on('error', () => undefined);
  return connection;
}

function open(
  redis: WorkerConfig['redis'],
  options: { forBlockingWorker?: boolean; name?: string },
): RedisConnection {
  if (redis.mode === 'single') {
    const base = redisOptionsFromUrl(redis.url, { forBlockingWorker: options.forBlockingWorker });
    return new Redis({ ...base, connectionName: options.name });
  }

  const base = redisOptionsFromUrl('redis://placeholder', {
    forBlockingWorker: options.forBlockingWorker,
  });
  return new Cluster(
    redis.nodes.map((node) => ({ host: node.host, port: node.port })),
    {
      enableOfflineQueue: base.enableOfflineQueue,
      enableReadyCheck: true,
      clusterRetryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
      redisOptions: {
        connectionName: options.name,
        maxRetriesPerRequest: base.maxRetriesPerRequest,
        connectTimeout: base.connectTimeout,
        commandTimeout: base.commandTimeout,
      },
    },
  );
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
