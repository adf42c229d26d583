import { hostname } from 'node:os';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  consumerQueueName,
  DELIVERIES_QUEUE,
  JOB_NAMES,
  type ConsumerJob,
  type VerifiedEnvelope,
} from '@countersign/queue';
import { UnrecoverableError, type Job, type Worker } from 'bullmq';
import type { WorkerConfig } from '../config/worker.config.js';
import { dispatchJobOptions } from '../consumer/consumer-jobs.js';
import { ConsumerRegistry } from '../consumer/consumer-registry.js';
import { isVerifiedEnvelope } from '../consumer/is-verified-envelope.js';
import { subscriptionMatches } from '../consumer/subscription.js';
import { WorkerMetrics } from '../metrics/worker-metrics.js';
import { QueueRegistry } from '../redis/queue-registry.js';
import { throttledErrorLog } from '../redis/throttled-error-log.js';
import { closeWithinGrace } from '../shutdown/close-within-grace.js';
import { WORKER_CONFIG } from '../worker.tokens.js';

/**
 * Consumes the listener's queue and adds one job per subscribed consumer to that consumer's queue.
 * Every add is idempotent per (consumer, delivery key), so a dispatcher that dies half-way and
 * runs the same delivery again adds only what is missing.
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(Dispatcher.name);
  private worker?: Worker<VerifiedEnvelope>;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly registry: ConsumerRegistry,
    private readonly queues: QueueRegistry,
    private readonly metrics: WorkerMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.role === 'consumers') return;
    const consumers = this.registry.all();

    this.worker = this.queues.worker<VerifiedEnvelope>(
      DELIVERIES_QUEUE,
      (job) => this.process(job),
      {
        name: `${hostname()}:${process.pid}`,
        concurrency: this.config.dispatcherConcurrency,
        autorun: true,
      },
    );
    this.worker.on('error', throttledErrorLog(this.logger, 'dispatcher worker error', {}));
    this.logger.log({
      msg: 'dispatcher started',
      consumers: consumers.map((c) => ({ name: c.options.name, events: c.options.events })),
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.worker)
      await closeWithinGrace([this.worker], this.config.shutdownGraceMs, this.logger);
  }

  /** Hands one verified envelope to every consumer whose subscription matches it. */
  async dispatch(envelope: VerifiedEnvelope): Promise<string[]> {
    const targets = this.registry
      .all()
      .filter((c) => subscriptionMatches(c.options, envelope.event.event, envelope.profile));

    for (const consumer of targets) {
      const job: ConsumerJob = { consumer: consumer.options.name, envelope };
      await this.queues
        .queue<ConsumerJob>(consumerQueueName(consumer.options.name))
        .add(
          JOB_NAMES.consumerDelivery,
          job,
          dispatchJobOptions(consumer.options, envelope.deliveryKey),
        );
      this.metrics.dispatched.inc({ consumer: consumer.options.name });
    }
    return targets.map((c) => c.options.name);
  }

  private async process(job: Job<VerifiedEnvelope>): Promise<void> {
    if (!isVerifiedEnvelope(job.data)) {
      this.logger.error({ msg: 'delivery job is not a verified envelope', jobId: job.id });
      throw new UnrecoverableError('job data is not a verified envelope (version 1)');
    }

    const envelope = job.data;
    const consumers = await this.dispatch(envelope);
    this.logger.log({
      msg: consumers.length > 0 ? 'delivery dispatched' : 'no consumer subscribes to this event',
      deliveryId: envelope.deliveryId,
      event: envelope.event.event,
      profile: envelope.profile,
      consumers,
    });
  }
}
