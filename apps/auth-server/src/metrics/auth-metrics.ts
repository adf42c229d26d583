import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY } from '@countersign/common';
import { Counter, type Registry } from 'prom-client';

import { AUTH_SERVER_CONFIG, type AuthServerConfig } from '../config/auth-server.config.js';

/** Token counters; client ids that are not registered collapse to `unknown` (bounded labels). */
@Injectable()
export class AuthMetrics {
  private readonly issued: Counter<'client_id'>;
  private readonly refusedCounter: Counter<'client_id' | 'reason'>;

  constructor(
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(AUTH_SERVER_CONFIG) private readonly config: AuthServerConfig,
  ) {
    this.issued = new Counter({
      name: 'countersign_tokens_issued_total',
      help: 'Access tokens issued, by client',
      labelNames: ['client_id'],
      registers: [registry],
    });
    this.refusedCounter = new Counter({
      name: 'countersign_token_requests_refused_total',
      help: 'Token requests refused, by client and reason',
      labelNames: ['client_id', 'reason'],
      registers: [registry],
    });
  }

  tokenIssued(clientId: string): void {
    this.issued.inc({ client_id: this.label(clientId) });
  }

  refused(clientId: string | undefined, reason: string): void {
    this.refusedCounter.inc({ client_id: this.label(clientId), reason });
  }

  private label(clientId: string | undefined): string {
    return clientId !== undefined && this.config.clients.find(clientId) !== undefined
      ? clientId
      : 'unknown';
  }
}
