import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { createLoggerModule, MetricsModule, TokenRevocationList } from '@countersign/common';
import type { Redis } from 'ioredis';

import { AUTH_SERVER_CONFIG, type AuthServerConfig } from './config/auth-server.config.js';
import { HealthController } from './health/health.controller.js';
import { AUTH_REDIS, redisProvider, type AuthRedis } from './redis/redis.provider.js';
import { SigningKeyStore } from './keys/signing-key.store.js';
import { DiscoveryController } from './metadata/discovery.controller.js';
import { AuthMetrics } from './metrics/auth-metrics.js';
import { ClientAuthenticator } from './oauth/client-authenticator.js';
import { OAuthController } from './oauth/oauth.controller.js';
import { OAuthExceptionFilter } from './oauth/oauth-exception.filter.js';
import { TokenInspector } from './oauth/token.inspector.js';
import { TokenIssuer } from './oauth/token.issuer.js';
import { TokenService } from './oauth/token.service.js';
import { FailedAuthenticationLimiter } from './rate-limit/failed-authentication.limiter.js';

/**
 * Paths of the auth-server's own secret-bearing structures (a client entry's secret hash, the TLS
 * key of the configuration, a stored signing key), redacted if one is ever handed to the logger.
 */
const AUTH_SERVER_REDACTED_LOG_PATHS = [
  'client_secret_hash',
  '*.client_secret_hash',
  'tls.key',
  '*.tls.key',
  'privateJwk',
  '*.privateJwk',
];

const REDIS_SETTLE_MS = 1000;

/** The authorization server: client credentials grant, mTLS client auth, bound JWTs. */
@Module({})
export class AuthServerModule implements OnApplicationShutdown {
  constructor(@Inject(AUTH_REDIS) private readonly redis: AuthRedis) {}

  static forRoot(config: AuthServerConfig): DynamicModule {
    return {
      module: AuthServerModule,
      imports: [
        createLoggerModule({
          app: 'auth-server',
          level: config.logLevel,
          redact: AUTH_SERVER_REDACTED_LOG_PATHS,
        }),
        MetricsModule.forRoot('auth-server'),
      ],
      controllers: [OAuthController, DiscoveryController, HealthController],
      providers: [
        { provide: AUTH_SERVER_CONFIG, useValue: config },
        redisProvider,
        {
          provide: TokenRevocationList,
          inject: [AUTH_REDIS],
          useFactory: (redis: Redis) => new TokenRevocationList(redis, config.keyPrefix),
        },
        SigningKeyStore,
        AuthMetrics,
        FailedAuthenticationLimiter,
        ClientAuthenticator,
        TokenIssuer,
        TokenInspector,
        TokenService,
        OAuthExceptionFilter,
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    // a start-up that failed can close while Redis is still connecting: QUIT needs the handshake
    if (this.redis.status === 'connecting' || this.redis.status === 'connect') {
      await new Promise<void>((resolve) => {
        this.redis.once('ready', resolve).once('end', resolve);
        setTimeout(resolve, REDIS_SETTLE_MS).unref();
      });
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
