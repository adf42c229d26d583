import type { StackLayout } from './stack-config.js';

/** The layout `docker/compose.yml` uses: service names as hosts, data on the `/data` volume. */
export const COMPOSE_LAYOUT: StackLayout = {
  bindHost: '0.0.0.0',
  authHost: 'auth-server',
  listenerHost: 'listener',
  workerHost: 'worker',
  authPort: 8443,
  listenerPort: 9443,
  workerPort: 8090,
  redisUrl: 'redis://redis:6379',
  queuePrefix: 'countersign',
  payloadDir: '/data/payloads',
  archiveDir: '/data/archive',
  auditLogFile: '/data/audit/audit.jsonl',
};
