import {
  Inject,
  Module,
  RequestMethod,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { createLoggerModule, MetricsModule, TokenRevocationList } from '@countersign/common';
import type { ListenerSettings } from './config/listener-settings.js';
import { DeliveryBodyReader } from './delivery/delivery-body.reader.js';
import { DeliveryIntakeService } from './delivery/delivery-intake.service.js';
import { DeliveryQueues } from './delivery/delivery-queues.js';
import { DeliveryController } from './delivery/delivery.controller.js';
import { BasicCredentialsGuard } from './guards/basic-credentials.guard.js';
import { BearerTokenGuard } from './guards/bearer-token.guard.js';
import { CertificateBindingGuard } from './guards/certificate-binding.guard.js';
import { HmacGuard } from './guards/hmac.guard.js';
import { MtlsGuard } from './guards/mtls.guard.js';
import { ProfileGuard } from './guards/profile.guard.js';
import { HealthController } from './health/health.controller.js';
import { LISTENER_REDIS, LISTENER_SETTINGS } from './listener.tokens.js';
import { ListenerMetrics } from './metrics/listener-metrics.js';
import { createListenerRedis, type ListenerRedis } from './redis/listener-redis.js';
import { RejectionFilter } from './rejection/rejection.filter.js';
import { ClientCertificateReader } from './transport/client-certificate.reader.js';

/** The listener: transport-independent wiring of profiles, guards, intake, health and metrics. */
@Module({})
export class ListenerModule implements OnApplicationShutdown {
  constructor(@Inject(LISTENER_REDIS) private readonly redis: ListenerRedis) {}

  static forRoot(settings: ListenerSettings): DynamicModule {
    const { env } = settings;
    return {
      module: ListenerModule,
      imports: [
        createLoggerModule({
          app: 'listener',
          level: env.LISTENER_LOG_LEVEL,
          // every delivery line carries its deliveryId; no per-request child logger on the hot path
          excludeRoutes: [{ path: 'connect/:profile', method: RequestMethod.POST }],
        }),
        MetricsModule.forRoot('listener'),
      ],
      controllers: [DeliveryController, HealthController],
      providers: [
        { provide: LISTENER_SETTINGS, useValue: settings },
        { provide: LISTENER_REDIS, useFactory: () => createListenerRedis(settings) },
        {
          provide: TokenRevocationList,
          inject: [LISTENER_REDIS],
          useFactory: (redis: ListenerRedis) => new TokenRevocationList(redis, env.QUEUE_PREFIX),
        },
        { provide: APP_FILTER, useClass: RejectionFilter },
        ListenerMetrics,
        ClientCertificateReader,
        DeliveryBodyReader,
        DeliveryQueues,
        DeliveryIntakeService,
        ProfileGuard,
        MtlsGuard,
        BearerTokenGuard,
        BasicCredentialsGuard,
        CertificateBindingGuard,
        HmacGuard,
      ],
    };
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
