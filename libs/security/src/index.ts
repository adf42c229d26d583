export * from './rejection-reason.js';
export * from './verdict.js';
