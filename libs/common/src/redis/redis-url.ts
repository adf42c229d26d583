import type { RedisOptions } from 'ioredis';

/**
 * ioredis options from a `redis://` or `rediss://` URL, tuned for BullMQ and for failing fast:
 * commands wait at most `commandTimeoutMs` when Redis is unreachable instead of queueing forever.
 */
export function redisOptionsFromUrl(
  url: string,
  overrides: { commandTimeoutMs?: number; forBlockingWorker?: boolean } = {},
): RedisOptions {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must use redis:// or rediss://, got ${parsed.protocol}`);
  }
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) {
    throw new Error('REDIS_URL database number must be a non-negative integer');
  }
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 6379,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db,
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
    // BullMQ workers block on Redis and must retry forever; producers must fail fast instead.
    maxRetriesPerRequest: overrides.forBlockingWorker ? null : 1,
    enableOfflineQueue: overrides.forBlockingWorker ?? false,
    connectTimeout: 2000,
    commandTimeout: overrides.forBlockingWorker ? undefined : (overrides.commandTimeoutMs ?? 1500),
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  };
}
