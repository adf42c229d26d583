import { Inject, Injectable } from '@nestjs/common';
import { METRICS_REGISTRY } from '@countersign/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Names the `countersign_queue_*` gauges read on every scrape. */
export type QueueDepthSource = () => Promise<
  { queue: string; counts: Record<string, number>; oldestWaitingMs?: number }[]
>;

/** The worker's Prometheus metrics, registered on the app's registry. */
@Injectable()
export class WorkerMetrics {
  readonly consumerDuration: Histogram<'consumer' | 'outcome'>;
  readonly consumerAttempts: Counter<'consumer' | 'outcome'>;
  readonly deadLetters: Counter<'consumer'>;
  readonly dispatched: Counter<'consumer'>;
  private readonly queueDepth: Gauge<'queue' | 'state'>;
  private readonly oldestJobAge: Gauge<'queue'>;
  private depthSource?: QueueDepthSource;
  private refreshing?: Promise<void>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.consumerDuration = new Histogram({
      name: 'countersign_consumer_duration_seconds',
      help: 'Time a consumer spent on one job attempt',
      labelNames: ['consumer', 'outcome'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.consumerAttempts = new Counter({
      name: 'countersign_consumer_attempts_total',
      help: 'Consumer job attempts by outcome (completed, retry, dead_letter)',
      labelNames: ['consumer', 'outcome'],
      registers: [registry],
    });
    this.deadLetters = new Counter({
      name: 'countersign_dead_letters_total',
      help: 'Consumer jobs moved to the dead-letter queue',
      labelNames: ['consumer'],
      registers: [registry],
    });
    this.dispatched = new Counter({
      name: 'countersign_dispatched_total',
      help: 'Verified envelopes handed to a consumer queue by the dispatcher',
      labelNames: ['consumer'],
      registers: [registry],
    });

    this.queueDepth = new Gauge({
      name: 'countersign_queue_depth',
      help: 'Jobs per queue and state',
      labelNames: ['queue', 'state'],
      registers: [registry],
      collect: () => this.refreshQueuesOnce(),
    });
    this.oldestJobAge = new Gauge({
      name: 'countersign_queue_oldest_job_age_seconds',
      help: 'Age of the oldest waiting job per queue (0 when none waits)',
      labelNames: ['queue'],
      registers: [registry],
      collect: () => this.refreshQueuesOnce(),
    });
  }

  /** Where queue depths come from (set once the queues are known). */
  watchQueues(source: QueueDepthSource): void {
    this.depthSource = source;
  }

  /**
   * prom-client collects every metric of a scrape concurrently: both queue gauges wait for one
   * shared read of Redis, so neither is serialized before the values arrive.
   */
  private refreshQueuesOnce(): Promise<void> {
    this.refreshing ??= this.refreshQueues().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshQueues(): Promise<void> {
    if (!this.depthSource) return;
    let snapshot: Awaited<ReturnType<QueueDepthSource>>;
    try {
      snapshot = await this.depthSource();
    } catch {
      // Redis unreachable: leave the last values; readiness reports the outage
      return;
    }
    this.queueDepth.reset();
    this.oldestJobAge.reset();
    for (const { queue, counts, oldestWaitingMs } of snapshot) {
      for (const [state, count] of Object.entries(counts)) {
        this.queueDepth.set({ queue, state }, count);
      }
      this.oldestJobAge.set({ queue }, (oldestWaitingMs ?? 0) / 1000);
    }
  }
}
