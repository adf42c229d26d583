export * from './connect-event.js';
