import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import {
  consumerQueueName,
  DEAD_LETTER_QUEUE,
  DELIVERIES_QUEUE,
  QUARANTINE_QUEUE,
} from '@countersign/queue';
import { ConsumerRegistry } from '../consumer/consumer-registry.js';
import { QueueRegistry } from '../redis/queue-registry.js';
import { WorkerMetrics } from './worker-metrics.js';

const STATES = ['wait', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

/** Feeds the queue depth and oldest-job-age gauges: the listener's queues, each consumer's, dead letters. */
@Injectable()
export class QueueDepthCollector implements OnApplicationBootstrap {
  constructor(
    private readonly metrics: WorkerMetrics,
    private readonly queues: QueueRegistry,
    private readonly registry: ConsumerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.metrics.watchQueues(() => this.snapshot());
  }

  private async snapshot() {
    const names = [
      DELIVERIES_QUEUE,
      QUARANTINE_QUEUE,
      DEAD_LETTER_QUEUE,
      ...this.registry.all().map((consumer) => consumerQueueName(consumer.options.name)),
    ];
    const now = Date.now();
    return Promise.all(
      names.map(async (name) => {
        const queue = this.queues.queue(name);
        const counts = await queue.getJobCounts(...STATES);
        const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
        return {
          queue: name,
          counts,
          oldestWaitingMs: oldest ? Math.max(0, now - oldest.timestamp) : undefined,
        };
      }),
    );
  }
}
