import { createHash } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';

import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';
import { AUTH_REDIS, type AuthRedis } from '../redis/redis.provider.js';

export type LimitDecision = { limited: false } | { limited: true; retryAfterSeconds: number };

/**
 * Counts failed client authentications per client_id and per peer address in fixed windows
 * (Redis INCR + PEXPIRE NX). Once either count reaches the limit, requests are refused until the
 * window ends. Successes are not counted. Redis errors propagate: callers fail closed.
 */
@Injectable()
export class FailedAuthenticationLimiter {
  constructor(
    @Inject(AUTH_SERVER_CONFIG) private readonly config: AuthServerConfig,
    @Inject(AUTH_REDIS) private readonly redis: AuthRedis,
  ) {}

  async check(clientId: string | undefined, address: string | undefined): Promise<LimitDecision> {
    const keys = this.keys(clientId, address);
    const pipeline = this.redis.multi();
    for (const key of keys) pipeline.get(key).pttl(key);
    const replies = (await pipeline.exec()) ?? [];

    let retryAfterMs = 0;
    for (let index = 0; index < keys.length; index += 1) {
      const [countError, count] = replies[index * 2] ?? [];
      const [ttlError, ttl] = replies[index * 2 + 1] ?? [];
      if (countError || ttlError) throw countError ?? ttlError ?? new Error('redis error');
      if (Number(count ?? 0) >= this.config.rateLimit.maxFailures) {
        const remaining =
          Number(ttl) > 0 ? Number(ttl) : this.config.rateLimit.windowSeconds * 1000;
        retryAfterMs = Math.max(retryAfterMs, remaining);
      }
    }
    return retryAfterMs > 0
      ? { limited: true, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) }
      : { limited: false };
  }

  async recordFailure(clientId: string | undefined, address: string | undefined): Promise<void> {
    const windowMs = this.config.rateLimit.windowSeconds * 1000;
    const pipeline = this.redis.multi();
    for (const key of this.keys(clientId, address)) {
      pipeline.incr(key).pexpire(key, windowMs, 'NX');
    }
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error !== null);
    if (failed?.[0]) throw failed[0];
  }

  private keys(clientId: string | undefined, address: string | undefined): string[] {
    // one hash tag: both counters of a request live in one Redis Cluster slot, so one MULTI holds them
    const root = `${this.config.keyPrefix}:{auth-failures}`;
    const keys: string[] = [];
    // per client AND peer: failures from one address must not lock the client out everywhere
    if (clientId !== undefined) {
      const client = createHash('sha256').update(clientId).digest('base64url');
      keys.push(`${root}:client:${client}:${normaliseAddress(address ?? 'unknown')}`);
    }
    if (address !== undefined) {
      keys.push(`${root}:address:${normaliseAddress(address)}`);
    }
    return keys;
  }
}

// an IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; count it as the IPv4 address
function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
