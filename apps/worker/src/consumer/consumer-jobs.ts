import { createHash } from 'node:crypto';
import { DEDUPE_WINDOW_MS } from '@countersign/queue';
import type { JobsOptions } from 'bullmq';
import type { ResolvedConsumerOptions } from './consumer-options.js';

/**
 * The job id of one delivery in one consumer's queue: the same delivery key always gives the same
 * id, so a dispatcher that runs again after a crash adds nothing twice. (BullMQ ids may not hold
 * `:`, and the key's shape is the listener's business, so the id is a digest of it.)
 */
export function consumerJobId(deliveryKey: string): string {
  return `dk-${createHash('sha256').update(deliveryKey, 'utf8').digest('base64url')}`;
}

/** The retry and retention settings a consumer's jobs carry. */
export function consumerRetryOptions(
  options: ResolvedConsumerOptions,
): Pick<JobsOptions, 'attempts' | 'backoff' | 'removeOnComplete' | 'removeOnFail'> {
  return {
    attempts: options.attempts,
    backoff: {
      type: options.backoff.type,
      delay: options.backoff.delayMs,
      jitter: options.backoff.jitter,
    },
    removeOnComplete: {
      count: options.retention.completed.count,
      age: options.retention.completed.ageSeconds,
    },
    removeOnFail: {
      count: options.retention.failed.count,
      age: options.retention.failed.ageSeconds,
    },
  };
}

/**
 * Options for the dispatcher's add. The job id covers a job that still exists; the deduplication
 * key (set atomically with the add, kept for the dedupe window even after retention removed the
 * job) covers one that is already gone.
 */
export function dispatchJobOptions(
  options: ResolvedConsumerOptions,
  deliveryKey: string,
): JobsOptions {
  const jobId = consumerJobId(deliveryKey);
  return {
    ...consumerRetryOptions(options),
    jobId,
    deduplication: { id: jobId, ttl: DEDUPE_WINDOW_MS },
  };
}
