import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { redisOptionsFromUrl } from '@countersign/common';
import {
  consumerQueueName,
  DELIVERIES_QUEUE,
  queuePrefix,
  type ConsumerJob,
  type PayloadRef,
  type VerifiedEnvelope,
} from '@countersign/queue';
import { Queue, type JobState } from 'bullmq';
import { Redis } from 'ioredis';

/** The consumers the worker ships; the demo reports on each. */
export const SHIPPED_CONSUMERS = ['audit-log', 'envelope-status', 'document-archive'] as const;
export type ShippedConsumer = (typeof SHIPPED_CONSUMERS)[number];

/** Where a job stands: `none` means no job exists (not subscribed, or not dispatched yet). */
export type JobProgress = 'none' | 'pending' | 'completed' | 'failed';

/** What the queues say about one delivery key. */
export interface KeyProgress {
  readonly dispatch: JobProgress;
  /** How the listener handed the body over (inline in the job, or in the payload store). */
  readonly payload?: PayloadRef;
  readonly consumers: Readonly<Record<ShippedConsumer, JobProgress>>;
}

const STATES: readonly JobState[] = [
  'completed',
  'failed',
  'active',
  'waiting',
  'delayed',
  'prioritized',
  'waiting-children',
];

function progressOf(state: JobState): JobProgress {
  return state === 'completed' || state === 'failed' ? state : 'pending';
}

/** Reads job states from the queues of a stack (read-only). */
export class ConsumptionProbe {
  private readonly connection: Redis;
  private readonly deliveries: Queue;
  private readonly consumerQueues: Map<ShippedConsumer, Queue>;

  constructor(redisUrl: string, root: string) {
    const connection = new Redis(redisOptionsFromUrl(redisUrl));
    this.connection = connection;
    this.deliveries = new Queue(DELIVERIES_QUEUE, {
      connection,
      prefix: queuePrefix(root, DELIVERIES_QUEUE),
    });
    this.consumerQueues = new Map(
      SHIPPED_CONSUMERS.map((name) => {
        const queueName = consumerQueueName(name);
        return [name, new Queue(queueName, { connection, prefix: queuePrefix(root, queueName) })];
      }),
    );
  }

  /** The state of the dispatch job and of each consumer's job for every key in `keys`. */
  async progress(keys: readonly string[]): Promise<Map<string, KeyProgress>> {
    const dispatch = new Map<string, JobProgress>();
    const payloads = new Map<string, PayloadRef>();
    for (const state of STATES) {
      for (const job of await this.deliveries.getJobs([state])) {
        const envelope = job.data as Partial<VerifiedEnvelope> | undefined;
        if (!envelope?.deliveryKey) continue;
        dispatch.set(envelope.deliveryKey, progressOf(state));
        if (envelope.payload) payloads.set(envelope.deliveryKey, envelope.payload);
      }
    }
    const perConsumer = new Map<ShippedConsumer, Map<string, JobProgress>>();
    for (const [name, queue] of this.consumerQueues) {
      const states = new Map<string, JobProgress>();
      for (const state of STATES) {
        for (const job of await queue.getJobs([state])) {
          const key = (job.data as Partial<ConsumerJob> | undefined)?.envelope?.deliveryKey;
          if (key) states.set(key, progressOf(state));
        }
      }
      perConsumer.set(name, states);
    }

    const result = new Map<string, KeyProgress>();
    for (const key of keys) {
      const consumers = Object.fromEntries(
        SHIPPED_CONSUMERS.map((name) => [name, perConsumer.get(name)?.get(key) ?? 'none']),
      ) as Record<ShippedConsumer, JobProgress>;
      result.set(key, {
        dispatch: dispatch.get(key) ?? 'none',
        payload: payloads.get(key),
        consumers,
      });
    }
    return result;
  }

  async close(): Promise<void> {
    await Promise.all([this.deliveries, ...this.consumerQueues.values()].map((q) => q.close()));
    this.connection.disconnect();
  }
}

/** True when every key was dispatched and every job it produced has finished (either way). */
export function allSettled(progress: ReadonlyMap<string, KeyProgress>): boolean {
  return [...progress.values()].every(
    (entry) =>
      entry.dispatch === 'completed' &&
      Object.values(entry.consumers).every((state) => state !== 'pending'),
  );
}

/** Delivery keys that have a line in the audit log. */
export async function auditedKeys(auditLogFile: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(auditLogFile, 'utf8');
  } catch {
    return new Set();
  }
  const keys = new Set<string>();
  for (const line of text.split('\n')) {
    try {
      const record = JSON.parse(line) as { deliveryKey?: unknown };
      if (typeof record.deliveryKey === 'string') keys.add(record.deliveryKey);
    } catch {
      // a blank or torn line
    }
  }
  return keys;
}

/** PDF files the archive holds for one envelope. */
export async function archivedFiles(archiveDir: string, envelopeId: string): Promise<string[]> {
  try {
    return (await readdir(join(archiveDir, envelopeId))).filter((name) => name.endsWith('.pdf'));
  } catch {
    return [];
  }
}
