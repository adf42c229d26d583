import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { queuePrefix } from '@countersign/queue';
import { Queue, Worker, type Processor, type WorkerOptions } from 'bullmq';
import type { WorkerConfig } from '../config/worker.config.js';
import { WORKER_CONFIG, REDIS_CONNECTION } from '../worker.tokens.js';
import { settledWithin } from '../shutdown/within.js';
import {
  closeRedisConnection,
  createRedisConnection,
  type RedisConnection,
} from './redis-connection.js';

const CLOSE_MS = 1000;

/**
 * Opens BullMQ queues and workers with the hash-tagged prefix of their queue (so each queue's keys
 * share one Redis Cluster slot) and closes the connections it opened.
 */
@Injectable()
export class QueueRegistry implements OnApplicationShutdown {
  private readonly queues = new Map<string, Queue>();
  private readonly workerConnections: RedisConnection[] = [];

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(REDIS_CONNECTION) private readonly redis: RedisConnection,
  ) {}

  /** A producer for `name`, shared by every caller in this process. */
  queue<T = unknown>(name: string): Queue<T> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.redis,
        prefix: queuePrefix(this.config.queuePrefix, name),
      });
      // without an 'error' listener BullMQ console.error()s every connection error, unstructured
      queue.on('error', () => undefined);
      this.queues.set(name, queue);
    }
    return queue as Queue<T>;
  }

  /** Every queue opened so far, by name. */
  openQueues(): ReadonlyMap<string, Queue> {
    return this.queues;
  }

  /** A worker on `name` with its own blocking connection and the stall settings of the config. */
  worker<T>(
    name: string,
    processor: Processor<T>,
    options: Omit<WorkerOptions, 'connection' | 'prefix'> = {},
  ): Worker<T> {
    const connection = createRedisConnection(this.config.redis, {
      forBlockingWorker: true,
      name: `worker:${name}`,
    });
    this.workerConnections.push(connection);
    return new Worker<T>(name, processor, {
      connection,
      prefix: queuePrefix(this.config.queuePrefix, name),
      stalledInterval: this.config.stalledIntervalMs,
      lockDuration: this.config.lockDurationMs,
      maxStalledCount: 3,
      autorun: false,
      ...options,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await settledWithin(
      Promise.allSettled([...this.queues.values()].map((queue) => queue.close())),
      CLOSE_MS,
    );
    this.queues.clear();
    // every worker was closed before shutdown (beforeApplicationShutdown); nothing uses Redis now
    const connections = [...this.workerConnections.splice(0), this.redis];
    await Promise.all(connections.map((connection) => closeRedisConnection(connection, CLOSE_MS)));
  }
}
