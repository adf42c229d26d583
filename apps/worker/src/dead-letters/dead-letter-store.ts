import { createHash } from 'node:crypto';
import {
  consumerQueueName,
  DEAD_LETTER_QUEUE,
  JOB_NAMES,
  type ConsumerJob,
  type DeadLetter,
} from '@countersign/queue';
import type { Job, JobsOptions, Queue } from 'bullmq';

/** A dead letter as kept in its queue: with the retry settings its consumer job had. */
export interface StoredDeadLetter extends DeadLetter {
  readonly retry: Pick<JobsOptions, 'attempts' | 'backoff' | 'removeOnComplete' | 'removeOnFail'>;
}

/** One dead letter as listed by the CLI. */
export interface DeadLetterEntry {
  readonly id: string;
  readonly letter: StoredDeadLetter;
}

/** A dead letter id that names no dead letter. */
export class DeadLetterNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no dead letter with id ${id}`);
    this.name = 'DeadLetterNotFoundError';
  }
}

/** A replay asked for one consumer's dead letter, and the id names another consumer's. */
export class DeadLetterConsumerMismatchError extends Error {
  constructor(
    readonly id: string,
    readonly consumer: string,
    readonly expected: string,
  ) {
    super(`dead letter ${id} belongs to consumer ${consumer}, not ${expected}: not replayed`);
    this.name = 'DeadLetterConsumerMismatchError';
  }
}

function shortDigest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url').slice(0, 22);
}

/** The dead letter of one consumer job: the same job dead-letters once, however often it is told. */
export function deadLetterId(consumer: string, originalJobId: string): string {
  return `dl-${consumer}-${shortDigest(originalJobId)}`;
}

/**
 * The job id a replay gets. It is new (so the delivery key's deduplication marker, which keeps the
 * dispatcher from adding the envelope twice, does not swallow the replay), and deterministic (so a
 * replay repeated after a crash before the dead letter was removed adds the job only once).
 */
export function replayJobId(deadLetter: string): string {
  return `rp-${shortDigest(deadLetter)}`;
}

/**
 * The dead-letter queue: consumer jobs that used up their attempts wait there (nothing consumes
 * it) until an operator lists, inspects and replays them.
 */
export class DeadLetterStore {
  constructor(private readonly queueFor: (name: string) => Queue) {}

  private get queue(): Queue<StoredDeadLetter> {
    return this.queueFor(DEAD_LETTER_QUEUE) as Queue<StoredDeadLetter>;
  }

  /** Records a consumer job that will not be tried again (once, however often it is told). */
  async record(letter: StoredDeadLetter): Promise<{ id: string; created: boolean }> {
    const id = deadLetterId(letter.consumer, letter.originalJobId);
    if (await this.queue.getJob(id)) return { id, created: false };
    await this.queue.add(JOB_NAMES.deadLetter, letter, { jobId: id });
    return { id, created: true };
  }

  /** Dead letters, oldest first, optionally of one consumer. */
  async list(options: { consumer?: string; limit?: number } = {}): Promise<DeadLetterEntry[]> {
    const jobs = await this.queue.getJobs(['wait', 'delayed', 'prioritized'], 0, -1, true);
    const entries = jobs
      .filter((job): job is Job<StoredDeadLetter> & { id: string } => job?.id !== undefined)
      .map((job) => ({ id: job.id, letter: job.data }))
      .filter((entry) => !options.consumer || entry.letter.consumer === options.consumer)
      .sort((a, b) => a.letter.failedAt.localeCompare(b.letter.failedAt));
    return options.limit ? entries.slice(0, options.limit) : entries;
  }

  /** One dead letter, or DeadLetterNotFoundError. */
  async show(id: string): Promise<DeadLetterEntry> {
    const job = (await this.queue.getJob(id)) as Job<StoredDeadLetter> | undefined;
    if (!job?.data) throw new DeadLetterNotFoundError(id);
    return { id, letter: job.data };
  }

  /**
   * Adds the envelope back to its consumer's queue, then removes the dead letter. With `consumer`,
   * a dead letter of any other consumer is left alone (DeadLetterConsumerMismatchError).
   */
  async replay(
    id: string,
    options: { consumer?: string } = {},
  ): Promise<{ id: string; consumer: string; jobId: string }> {
    const { letter } = await this.show(id);
    if (options.consumer !== undefined && letter.consumer !== options.consumer) {
      throw new DeadLetterConsumerMismatchError(id, letter.consumer, options.consumer);
    }
    const jobId = replayJobId(id);
    const job: ConsumerJob = { consumer: letter.consumer, envelope: letter.envelope };
    await this.queueFor(consumerQueueName(letter.consumer)).add(JOB_NAMES.consumerDelivery, job, {
      ...letter.retry,
      jobId,
    });
    await this.queue.remove(id);
    return { id, consumer: letter.consumer, jobId };
  }

  /** Replays every dead letter (of one consumer when given); returns what it replayed. */
  async replayAll(
    options: { consumer?: string } = {},
  ): Promise<{ id: string; consumer: string; jobId: string }[]> {
    const replayed = [];
    for (const entry of await this.list(options)) {
      replayed.push(await this.replay(entry.id));
    }
    return replayed;
  }
}
