export * from './certificate.js';
export * from './connect-hmac.js';
export * from './distinguished-name.js';
export * from './rejection-reason.js';
export * from './subject-rule.js';
export * from './thumbprint.js';
export * from './verdict.js';
