import { QUARANTINE_QUEUE, type QuarantinedDelivery } from '@countersign/queue';
import type { Job, Queue } from 'bullmq';

/** One quarantined delivery; its id is the listener's delivery id. */
export interface QuarantineEntry {
  readonly id: string;
  readonly delivery: QuarantinedDelivery;
}

/** An id that names no quarantined delivery. */
export class QuarantinedDeliveryNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no quarantined delivery with id ${id}`);
    this.name = 'QuarantinedDeliveryNotFoundError';
  }
}

/**
 * The listener's quarantine queue: bodies that passed authentication but could not be parsed.
 * Nothing consumes it; an operator lists and inspects them, and deletes one once it is dealt with.
 */
export class QuarantineStore {
  constructor(private readonly queueFor: (name: string) => Queue) {}

  private get queue(): Queue<QuarantinedDelivery> {
    return this.queueFor(QUARANTINE_QUEUE) as Queue<QuarantinedDelivery>;
  }

  /** Quarantined deliveries, oldest first, optionally of one profile and at most `limit`. */
  async list(options: { profile?: string; limit?: number } = {}): Promise<QuarantineEntry[]> {
    const jobs = await this.queue.getJobs(['wait', 'delayed', 'prioritized'], 0, -1);
    const entries = jobs
      .filter(
        (job): job is Job<QuarantinedDelivery> & { id: string } =>
          job?.id !== undefined && job.data !== undefined,
      )
      .map((job) => ({ id: job.id, delivery: job.data }))
      .filter((entry) => !options.profile || entry.delivery.profile === options.profile)
      .sort((a, b) => a.delivery.receivedAt.localeCompare(b.delivery.receivedAt));
    return options.limit ? entries.slice(0, options.limit) : entries;
  }

  /** One quarantined delivery, or QuarantinedDeliveryNotFoundError. */
  async show(id: string): Promise<QuarantineEntry> {
    const job = (await this.queue.getJob(id)) as Job<QuarantinedDelivery> | undefined;
    if (!job?.data) throw new QuarantinedDeliveryNotFoundError(id);
    return { id, delivery: job.data };
  }

  /**
   * Removes a quarantined delivery and returns what it was. A body kept in the payload store stays
   * there: the store is content-addressed, so another delivery may share the file.
   */
  async delete(id: string): Promise<QuarantineEntry> {
    const entry = await this.show(id);
    if ((await this.queue.remove(id)) !== 1) throw new QuarantinedDeliveryNotFoundError(id);
    return entry;
  }
}
