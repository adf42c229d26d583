import { Controller, Get, Header, HttpCode, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { REDIS_CONNECTION } from '../worker.tokens.js';
import { redisAnswers, type RedisConnection } from '../redis/redis-connection.js';

const READY_TIMEOUT_MS = 1000;

/** Liveness (the process answers) and readiness (Redis answers a PING within a second). */
@Controller('health')
export class HealthController {
  constructor(@Inject(REDIS_CONNECTION) private readonly redis: RedisConnection) {}

  @Get('live')
  @Header('Cache-Control', 'no-store')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @Header('Cache-Control', 'no-store')
  async ready(
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ status: string; redis: string }> {
    const up = await redisAnswers(this.redis, READY_TIMEOUT_MS);
    res.status(up ? 200 : 503);
    return { status: up ? 'ready' : 'not_ready', redis: up ? 'up' : 'down' };
  }
}
