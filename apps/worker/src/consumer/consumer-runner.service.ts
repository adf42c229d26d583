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
  type ConsumerJob,
  type PayloadStore,
  type VerifiedEnvelope,
} from '@countersign/queue';
import { UnrecoverableError, type Job, type Worker } from 'bullmq';
import type { WorkerConfig } from '../config/worker.config.js';
import { DeadLetterStore } from '../dead-letters/dead-letter-store.js';
import { WorkerMetrics } from '../metrics/worker-metrics.js';
import { QueueRegistry } from '../redis/queue-registry.js';
import { throttledErrorLog } from '../redis/throttled-error-log.js';
import { PAYLOAD_STORE, WORKER_CONFIG } from '../worker.tokens.js';
import { closeWithinGrace } from '../shutdown/close-within-grace.js';
import { EnvelopeRejectedError, type ConsumerEnvelope } from './connect-consumer-handler.js';
import { consumerRetryOptions } from './consumer-jobs.js';
import { ConsumerRegistry, type RegisteredConsumer } from './consumer-registry.js';
import { isVerifiedEnvelope } from './is-verified-envelope.js';
import { loadPayload } from './payload-loader.js';

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Runs the consumers this process is configured for, each on its own queue with its own
 * concurrency and rate limit. A job that fails its last attempt, or that its consumer rejects,
 * becomes a dead letter before BullMQ marks it failed.
 */
@Injectable()
export class ConsumerRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ConsumerRunner.name);
  private readonly workers: Worker<ConsumerJob>[] = [];

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(PAYLOAD_STORE) private readonly payloadStore: PayloadStore | undefined,
    private readonly registry: ConsumerRegistry,
    private readonly queues: QueueRegistry,
    private readonly deadLetters: DeadLetterStore,
    private readonly metrics: WorkerMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // discovery runs (and fails on a bad declaration) whatever this process's role is
    const registered = this.registry.all();
    if (this.config.role === 'dispatcher') return;

    const selected = this.registry.select(this.config.consumers);
    if (selected.length === 0) {
      this.logger.warn({
        msg: 'no consumer is registered; nothing to run',
        registered: registered.length,
      });
      return;
    }
    for (const consumer of selected) {
      await consumer.handler.onConsumerStart?.();
    }
    for (const consumer of selected) {
      this.workers.push(this.start(consumer));
    }
    this.logger.log({
      msg: 'consumers started',
      consumers: selected.map((c) => c.options.name),
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await closeWithinGrace(this.workers, this.config.shutdownGraceMs, this.logger);
    this.workers.length = 0;
  }

  /** Names of the consumers this process runs. */
  running(): string[] {
    return this.workers.map((worker) => worker.name);
  }

  private start(consumer: RegisteredConsumer): Worker<ConsumerJob> {
    const { options } = consumer;
    const worker = this.queues.worker<ConsumerJob>(
      consumerQueueName(options.name),
      (job) => this.process(consumer, job),
      {
        name: `${hostname()}:${process.pid}`,
        concurrency: options.concurrency,
        limiter: options.limiter
          ? { max: options.limiter.max, duration: options.limiter.durationMs }
          : undefined,
        autorun: true,
      },
    );

    // covers jobs failed outside the processor, e.g. stalled more often than allowed
    worker.on('failed', (job, error) => {
      if (!job || !this.isFinalFailure(job, error)) return;
      void this.recordDeadLetter(consumer, job, error, job.attemptsMade).catch(
        (recordError: unknown) =>
          this.logger.error({
            msg: 'could not record a dead letter',
            consumer: options.name,
            jobId: job.id,
            error: describe(recordError),
          }),
      );
    });
    worker.on(
      'error',
      throttledErrorLog(this.logger, 'consumer worker error', { consumer: options.name }),
    );
    return worker;
  }

  private isFinalFailure(job: Job<ConsumerJob>, error: Error): boolean {
    return (
      error instanceof UnrecoverableError ||
      error.name === 'UnrecoverableError' ||
      job.attemptsMade >= (job.opts.attempts ?? 1)
    );
  }

  private async process(consumer: RegisteredConsumer, job: Job<ConsumerJob>): Promise<void> {
    const name = consumer.options.name;
    const envelope = job.data?.envelope;
    if (!isVerifiedEnvelope(envelope)) {
      this.logger.error({
        msg: 'consumer job is not a verified envelope',
        consumer: name,
        jobId: job.id,
      });
      throw new UnrecoverableError('job data is not a verified envelope (version 1)');
    }

    const attempt = job.attemptsMade + 1;
    const log = { consumer: name, deliveryId: envelope.deliveryId, jobId: job.id, attempt };
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    this.logger.debug({ ...log, msg: 'consumer job started', event: envelope.event.event });

    try {
      await consumer.handler.handle(this.toConsumerEnvelope(envelope, attempt));
    } catch (error) {
      const rejected = error instanceof EnvelopeRejectedError;
      const final = rejected || attempt >= (job.opts.attempts ?? 1);
      this.metrics.consumerDuration.observe({ consumer: name, outcome: 'failed' }, seconds());
      if (!final) {
        this.metrics.consumerAttempts.inc({ consumer: name, outcome: 'retry' });
        this.logger.warn({
          ...log,
          msg: 'consumer job failed, will retry',
          error: describe(error),
        });
        throw error;
      }

      this.metrics.consumerAttempts.inc({ consumer: name, outcome: 'dead_letter' });
      await this.recordDeadLetter(consumer, job, error, attempt);
      if (rejected) throw new UnrecoverableError(describe(error));
      throw error;
    }

    this.metrics.consumerDuration.observe({ consumer: name, outcome: 'completed' }, seconds());
    this.metrics.consumerAttempts.inc({ consumer: name, outcome: 'completed' });
    this.logger.log({
      ...log,
      msg: 'consumer job completed',
      durationMs: Math.round(seconds() * 1000),
    });
  }

  private toConsumerEnvelope(envelope: VerifiedEnvelope, attempt: number): ConsumerEnvelope {
    let body: Promise<Buffer> | undefined;
    return {
      event: envelope.event,
      evidence: envelope.evidence,
      deliveryId: envelope.deliveryId,
      deliveryKey: envelope.deliveryKey,
      profile: envelope.profile,
      receivedAt: envelope.receivedAt,
      attempt,
      payload: {
        contentType: envelope.payload.contentType,
        sha256: envelope.payload.sha256,
        size: envelope.payload.size,
      },
      loadPayload: () => {
        body ??= loadPayload(envelope.payload, this.payloadStore);
        return body.then((bytes) => Buffer.from(bytes));
      },
    };
  }

  private async recordDeadLetter(
    consumer: RegisteredConsumer,
    job: Job<ConsumerJob>,
    error: unknown,
    attemptsMade: number,
  ): Promise<void> {
    if (job.id === undefined || !isVerifiedEnvelope(job.data?.envelope)) return;
    const { id, created } = await this.deadLetters.record({
      consumer: consumer.options.name,
      originalJobId: job.id,
      envelope: job.data.envelope,
      error: describe(error).slice(0, 2000),
      attemptsMade,
      failedAt: new Date().toISOString(),
      retry: consumerRetryOptions(consumer.options),
    });
    if (!created) return;
    this.metrics.deadLetters.inc({ consumer: consumer.options.name });
    this.logger.error({
      msg: 'consumer job moved to the dead-letter queue',
      consumer: consumer.options.name,
      deliveryId: job.data.envelope.deliveryId,
      jobId: job.id,
      deadLetterId: id,
      error: describe(error),
    });
  }
}
