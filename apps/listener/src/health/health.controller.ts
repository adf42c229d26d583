import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { LISTENER_REDIS, LISTENER_SETTINGS } from '../listener.tokens.js';
import type { ListenerSettings } from '../config/listener-settings.js';
import type { ListenerRedis } from '../redis/listener-redis.js';

const REDIS_PING_TIMEOUT_MS = 500;

interface Readiness {
  status: 'ok' | 'unavailable';
  checks: Record<string, 'ok' | 'down' | 'stale'>;
}

/** Liveness (the process answers) and readiness (Redis answers, remote JWKS are fresh). */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(LISTENER_REDIS) private readonly redis: ListenerRedis,
    @Inject(LISTENER_SETTINGS) private readonly settings: ListenerSettings,
  ) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) response: Response): Promise<Readiness> {
    const checks: Readiness['checks'] = { redis: (await this.pingRedis()) ? 'ok' : 'down' };
    for (const profile of this.settings.profiles.values()) {
      const token = profile.token;
      if (token?.remoteJwks) {
        // a stale or never-fetched JWKS is fetched now, so readiness heals without a delivery
        const fresh = token.verifier.jwksFreshness().ok || (await token.verifier.refreshJwks());
        checks[`jwks:${profile.name}`] = fresh ? 'ok' : 'stale';
      }
    }

    const ready = Object.values(checks).every((state) => state === 'ok');
    response.status(ready ? 200 : 503).setHeader('Cache-Control', 'no-store');
    return { status: ready ? 'ok' : 'unavailable', checks };
  }

  private async pingRedis(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), REDIS_PING_TIMEOUT_MS);
      });
      return await Promise.race([this.redis.ping().then((reply) => reply === 'PONG'), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
