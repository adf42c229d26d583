export * from './queue-names.js';
export * from './verified-envelope.js';
export * from './payload-store.js';
