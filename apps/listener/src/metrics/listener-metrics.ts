import { Inject, Injectable } from '@nestjs/common';
import { Counter, Histogram, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '@countersign/common';

/** Label value for deliveries whose profile is unknown, so labels stay bounded. */
export const UNKNOWN_PROFILE_LABEL = '(unknown)';

/** The listener's own Prometheus series, registered on the app's registry. */
@Injectable()
export class ListenerMetrics {
  readonly deliveries: Counter<'profile' | 'outcome' | 'reason'>;
  readonly checkDuration: Histogram<'check'>;
  readonly enqueueDuration: Histogram;
  readonly tokenCache: Counter<'result'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.deliveries = new Counter({
      name: 'countersign_deliveries_total',
      help: 'Connect deliveries by profile, outcome (enqueued, duplicate, rejected) and reason code.',
      labelNames: ['profile', 'outcome', 'reason'],
      registers: [registry],
    });
    this.checkDuration = new Histogram({
      name: 'countersign_check_duration_seconds',
      help: 'Time spent in each check of a delivery.',
      labelNames: ['check'],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    });
    this.enqueueDuration = new Histogram({
      name: 'countersign_enqueue_duration_seconds',
      help: 'Time until Redis accepted (or refused) a delivery job.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers: [registry],
    });
    this.tokenCache = new Counter({
      name: 'countersign_token_cache_total',
      help: 'Verified-token cache lookups by result (hit, miss).',
      labelNames: ['result'],
      registers: [registry],
    });
  }

  /** Runs `step` and records its duration under `check`, whether it passes or throws. */
  async timeCheck<T>(check: string, step: () => Promise<T> | T): Promise<T> {
    const stop = this.checkDuration.startTimer({ check });
    try {
      return await step();
    } finally {
      stop();
    }
  }
}
