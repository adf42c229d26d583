export * from './config/validate-config.js';
export * from './logging/logger.module.js';
export * from './metrics/metrics.js';
export * from './openapi/health.openapi.js';
export * from './openapi/openapi-document.js';
export * from './redis/redis-url.js';
export * from './revocation/revocation-list.js';
