import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiLiveness, ApiReadiness } from '@countersign/common';
import type { Response } from 'express';

import { SigningKeyStore } from '../keys/signing-key.store.js';
import { AUTH_REDIS, type AuthRedis } from '../redis/redis.provider.js';

const REDIS_PING_TIMEOUT_MS = 500;

/** Liveness (the process answers) and readiness (Redis answers, a key can sign). */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(AUTH_REDIS) private readonly redis: AuthRedis,
    private readonly keys: SigningKeyStore,
  ) {}

  @Get('live')
  @ApiLiveness()
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiReadiness('Redis answers a PING and a signing key is loaded')
  async ready(@Res({ passthrough: true }) response: Response) {
    const [redis, keys] = [await this.pingRedis(), this.keys.healthy()];
    const ready = redis && keys;
    response.status(ready ? 200 : 503);
    response.setHeader('Cache-Control', 'no-store');
    return {
      status: ready ? 'ok' : 'unavailable',
      checks: { redis: redis ? 'up' : 'down', signingKeys: keys ? 'up' : 'down' },
    };
  }

  private async pingRedis(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), REDIS_PING_TIMEOUT_MS);
    });
    try {
      const ping = this.redis.ping().then(
        (reply) => reply === 'PONG',
        () => false,
      );
      return await Promise.race([ping, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
