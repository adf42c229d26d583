/** Injection token of the validated, compiled ListenerSettings. */
export const LISTENER_SETTINGS = Symbol('LISTENER_SETTINGS');

/** Injection token of the listener's fail-fast ioredis client (revocations, readiness). */
export const LISTENER_REDIS = Symbol('LISTENER_REDIS');
