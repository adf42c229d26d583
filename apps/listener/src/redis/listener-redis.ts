import type { Cluster, Redis } from 'ioredis';
import { openRedis } from '@countersign/common';
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
  return openRedis(redis, { commandTimeoutMs: env.LISTENER_ENQUEUE_TIMEOUT_MS });
}
