import { createHash } from 'node:crypto';
import type { Redis, Cluster } from 'ioredis';

/**
 * The Redis key that marks one token as revoked. Shared by the auth-server (which writes it) and
 * the listener (which reads it on every delivery). The issuer is part of the key since `jti` is
 * only unique per issuer.
 */
export function revokedTokenKey(root: string, issuer: string, jti: string): string {
  const digest = createHash('sha256').update(`${issuer}\n${jti}`).digest('base64url');
  return `${root}:revoked-token:${digest}`;
}

/** Revoked token ids in Redis, each remembered until the token would have expired anyway. */
export class TokenRevocationList {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly root: string,
  ) {}

  /** Marks a token revoked until `expiresAt` (seconds since the epoch). */
  async revoke(issuer: string, jti: string, expiresAt: number, now = Date.now()): Promise<void> {
    const ttlSeconds = Math.ceil(expiresAt - now / 1000);
    if (ttlSeconds <= 0) return;
    await this.redis.set(revokedTokenKey(this.root, issuer, jti), '1', 'EX', ttlSeconds);
  }

  /** Whether a token was revoked. Throws when Redis cannot answer: callers must fail closed. */
  async isRevoked(issuer: string, jti: string): Promise<boolean> {
    return (await this.redis.exists(revokedTokenKey(this.root, issuer, jti))) === 1;
  }
}
