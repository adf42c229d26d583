import { ValidateBy, type ValidationOptions } from 'class-validator';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * What is wrong with a Redis URL, or undefined when it is usable. The answer never quotes the URL:
 * it may carry a password.
 */
export function redisUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid URL (check the host, the port (at most 65535) and %-encode the password)';
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return 'must be a redis:// or rediss:// URL';
  }
  if (parsed.hostname === '') return 'must name a host';
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) return 'database number must be a non-negative integer';
  return undefined;
}

/** The shape of REDIS_CLUSTER_NODES: a comma list of `host:port` (ports checked by IsHostPortList). */
export const HOST_PORT_LIST = /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/;

/** Reads a validated comma list of `host:port` seed nodes. */
export function parseHostPortList(list: string): { host: string; port: number }[] {
  return list.split(',').map((node) => {
    const at = node.lastIndexOf(':');
    return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
  });
}

/** What is wrong with a comma list of `host:port` seed nodes, or undefined when it is usable. */
export function hostPortListProblem(list: string): string | undefined {
  for (const node of list.split(',')) {
    const at = node.lastIndexOf(':');
    const port = Number(node.slice(at + 1));
    if (at <= 0 || !/^\d{1,5}$/.test(node.slice(at + 1)) || port < 1 || port > 65535) {
      return `must be a comma list of host:port with ports 1-65535 (${node} is not)`;
    }
  }
  return undefined;
}

/** class-validator rule: a usable Redis URL (see redisUrlProblem); the message never quotes it. */
export function IsRedisUrl(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRedisUrl',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && !redisUrlProblem(value),
        defaultMessage: (args) =>
          `$property ${typeof args?.value === 'string' ? (redisUrlProblem(args.value) ?? '') : 'must be a redis:// or rediss:// URL'}`,
      },
    },
    options,
  );
}

/** class-validator rule: every seed node's port is within 1-65535. */
export function IsHostPortList(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHostPortList',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && !hostPortListProblem(value),
        defaultMessage: (args) =>
          `$property ${typeof args?.value === 'string' ? (hostPortListProblem(args.value) ?? '') : 'must be a comma list of host:port'}`,
      },
    },
    options,
  );
}

/**
 * ioredis options from a `redis://` or `rediss://` URL, tuned for BullMQ and for failing fast:
 * commands wait at most `commandTimeoutMs` when Redis is unreachable instead of queueing forever.
 */
export function redisOptionsFromUrl(
  url: string,
  overrides: { commandTimeoutMs?: number; forBlockingWorker?: boolean } = {},
): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // TypeError's `input` would print the URL, password included
    throw new Error('REDIS_URL is not a valid URL');
  }
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

/** Where an app's Redis is: one server at a URL, or the seed nodes of a Redis Cluster. */
export type RedisTarget =
  | { readonly mode: 'single'; readonly url: string }
  | { readonly mode: 'cluster'; readonly nodes: readonly { host: string; port: number }[] };

/**
 * Opens a connection to a Redis server or a Redis Cluster with the fail-fast options of
 * `redisOptionsFromUrl` (a cluster takes only host and port from its seed nodes). Connection errors
 * are left to failed commands and readiness checks: without a listener ioredis would print each
 * reconnect attempt to stderr.
 */
export function openRedis(
  target: RedisTarget,
  overrides: { commandTimeoutMs?: number; forBlockingWorker?: boolean; name?: string } = {},
): Redis | Cluster {
  const { name, ...urlOverrides } = overrides;
  let connection: Redis | Cluster;
  if (target.mode === 'single') {
    connection = new Redis({
      ...redisOptionsFromUrl(target.url, urlOverrides),
      connectionName: name,
    });
  } else {
    const base = redisOptionsFromUrl('redis://placeholder', urlOverrides);
    connection = new Cluster(
      target.nodes.map(({ host, port }) => ({ host, port })),
      {
        enableOfflineQueue: base.enableOfflineQueue,
        enableReadyCheck: true,
        clusterRetryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
        redisOptions: {
          connectionName: name,
          maxRetriesPerRequest: base.maxRetriesPerRequest,
          connectTimeout: base.connectTimeout,
          commandTimeout: base.commandTimeout,
        },
      },
    );
  }
  connection.on('error', () => undefined);
  return connection;
}
