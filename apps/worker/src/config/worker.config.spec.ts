import { ConfigurationError } from '@countersign/common';
import { loadWorkerConfig } from './worker.config.js';

describe('loadWorkerConfig', () => {
  it('applies defaults: all roles, all consumers, single Redis', () => {
    const config = loadWorkerConfig({ WORKER_PAYLOAD_DIR: '/var/lib/countersign/payloads' });
    expect(config).toMatchObject({
      role: 'all',
      consumers: undefined,
      queuePrefix: 'countersign',
      redis: { mode: 'single', url: 'redis://127.0.0.1:6379' },
      shutdownGraceMs: 25_000,
    });
  });

  it('reads a consumer list and cluster seed nodes', () => {
    const config = loadWorkerConfig({
      WORKER_ROLE: 'consumers',
      WORKER_CONSUMERS: 'audit-log, envelope-status',
      WORKER_PAYLOAD_DIR: '/p',
      REDIS_CLUSTER_NODES: '127.0.0.1:7001,127.0.0.1:7002',
    });
    expect(config.consumers).toEqual(['audit-log', 'envelope-status']);
    expect(config.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7001 },
        { host: '127.0.0.1', port: 7002 },
      ],
    });
  });

  it('refuses an unknown role, naming the variable', () => {
    expect(() => loadWorkerConfig({ WORKER_ROLE: 'everything', WORKER_PAYLOAD_DIR: '/p' })).toThrow(
      /WORKER_ROLE/,
    );
  });

  it('requires the payload store when the process runs consumers', () => {
    expect(() => loadWorkerConfig({ WORKER_ROLE: 'consumers' })).toThrow(ConfigurationError);
    expect(() => loadWorkerConfig({ WORKER_ROLE: 'consumers' })).toThrow(/WORKER_PAYLOAD_DIR/);
    expect(loadWorkerConfig({ WORKER_ROLE: 'dispatcher' }).role).toBe('dispatcher');
  });

  it('refuses numbers that are not numbers', () => {
    expect(() =>
      loadWorkerConfig({ WORKER_ROLE: 'dispatcher', WORKER_SHUTDOWN_GRACE_MS: 'soon' }),
    ).toThrow(/WORKER_SHUTDOWN_GRACE_MS/);
    expect(() =>
      loadWorkerConfig({ WORKER_ROLE: 'dispatcher', WORKER_HTTP_PORT: '70000' }),
    ).toThrow(/WORKER_HTTP_PORT/);
  });

  it('refuses a malformed consumer list and malformed cluster nodes', () => {
    expect(() => loadWorkerConfig({ WORKER_ROLE: 'dispatcher', WORKER_CONSUMERS: 'a,,b' })).toThrow(
      /WORKER_CONSUMERS/,
    );
    expect(() =>
      loadWorkerConfig({ WORKER_ROLE: 'dispatcher', REDIS_CLUSTER_NODES: 'localhost' }),
    ).toThrow(/REDIS_CLUSTER_NODES/);
  });

  it('refuses an unusable REDIS_URL or an out-of-range seed port without repeating the value', () => {
    const message = (env: Record<string, string>) => {
      try {
        loadWorkerConfig({ WORKER_ROLE: 'dispatcher', ...env });
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    const badUrl = message({ REDIS_URL: 'redis://:pw-not-for-logs@127.0.0.1:99999' });
    expect(badUrl).toMatch(/REDIS_URL/);
    expect(badUrl).not.toContain('pw-not-for-logs');
    expect(message({ REDIS_CLUSTER_NODES: '127.0.0.1:99999' })).toMatch(
      /REDIS_CLUSTER_NODES.*1-65535/,
    );
  });
});
