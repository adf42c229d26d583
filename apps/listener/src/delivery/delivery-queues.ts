import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import {
  DEDUPE_WINDOW_MS,
  DELIVERIES_QUEUE,
  JOB_NAMES,
  QUARANTINE_QUEUE,
  queuePrefix,
  type QuarantinedDelivery,
  type VerifiedEnvelope,
} from '@countersign/queue';
import { LISTENER_REDIS, LISTENER_SETTINGS } from '../listener.tokens.js';
import type { ListenerSettings } from '../config/listener-settings.js';
import { ListenerMetrics } from '../metrics/listener-metrics.js';
import type { ListenerRedis } from '../redis/listener-redis.js';
import { DeliveryRejection } from '../rejection/delivery-rejection.js';

/** Completed envelope jobs kept for inspection; the dedupe key outlives them (14 days). */
const KEEP_COMPLETED = { age: 24 * 60 * 60, count: 10_000 };
const KEEP_FAILED = { age: 14 * 24 * 60 * 60 };

/** Whether a job was added, or its delivery key was seen within the dedupe window. */
export type EnqueueOutcome = 'enqueued' | 'duplicate';

/**
 * The job id of one delivery: the delivery key (so an event's jobs are found by its key) and the
 * delivery id (so BullMQ reporting back another job's id reveals a deduplicated redelivery).
 */
export function envelopeJobId(envelope: VerifiedEnvelope): string {
  return `${envelope.deliveryKey}.${envelope.deliveryId}`;
}

/**
 * The listener's producers. Every add races a timeout shorter than 2 s and the Redis options
 * fail fast, so an unreachable Redis gives a 503 quickly instead of a hanging request.
 */
@Injectable()
export class DeliveryQueues implements OnModuleDestroy {
  private readonly logger = new Logger(DeliveryQueues.name);
  private readonly deliveries: Queue<VerifiedEnvelope>;
  private readonly quarantine: Queue<QuarantinedDelivery>;
  private readonly timeoutMs: number;

  constructor(
    @Inject(LISTENER_SETTINGS) settings: ListenerSettings,
    @Inject(LISTENER_REDIS) connection: ListenerRedis,
    private readonly metrics: ListenerMetrics,
  ) {
    const { env } = settings;
    this.timeoutMs = env.LISTENER_ENQUEUE_TIMEOUT_MS;
    this.deliveries = new Queue<VerifiedEnvelope>(DELIVERIES_QUEUE, {
      connection,
      prefix: queuePrefix(env.QUEUE_PREFIX, DELIVERIES_QUEUE),
    });
    this.quarantine = new Queue<QuarantinedDelivery>(QUARANTINE_QUEUE, {
      connection,
      prefix: queuePrefix(env.QUEUE_PREFIX, QUARANTINE_QUEUE),
    });
    for (const queue of [this.deliveries, this.quarantine]) {
      queue.on('error', (error: Error) =>
        this.logger.debug(`queue ${queue.name}: ${error.message}`),
      );
    }
  }

  /** Adds a verified envelope unless its delivery key was enqueued within the dedupe window. */
  async enqueueEnvelope(envelope: VerifiedEnvelope): Promise<EnqueueOutcome> {
    const jobId = envelopeJobId(envelope);
    const job = await this.withinTimeout(
      this.deliveries.add(JOB_NAMES.verifiedEnvelope, envelope, {
        jobId,
        // atomic with the add: a failed add never marks the key as seen
        deduplication: { id: envelope.deliveryKey, ttl: DEDUPE_WINDOW_MS },
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: KEEP_COMPLETED,
        removeOnFail: KEEP_FAILED,
      }),
    );
    return job.id === jobId ? 'enqueued' : 'duplicate';
  }

  /** Keeps an authenticated but unreadable body so it is not lost. */
  async enqueueQuarantined(delivery: QuarantinedDelivery): Promise<void> {
    await this.withinTimeout(
      this.quarantine.add(JOB_NAMES.quarantinedDelivery, delivery, {
        jobId: delivery.deliveryId,
        removeOnComplete: KEEP_FAILED,
        removeOnFail: KEEP_FAILED,
      }),
    );
  }

  private async withinTimeout<T>(add: Promise<T>): Promise<T> {
    const stop = this.metrics.enqueueDuration.startTimer();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeliveryRejection('queue_unavailable', 'Redis did not answer in time')),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([add, timeout]);
    } catch (error) {
      if (error instanceof DeliveryRejection) throw error;
      throw new DeliveryRejection('queue_unavailable', (error as Error).message);
    } finally {
      clearTimeout(timer);
      stop();
      // a late failure of a timed-out add must not surface as an unhandled rejection
      void add.catch(() => undefined);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([this.deliveries.close(), this.quarantine.close()]);
  }
}
