/**
 * The baseline of scenario 5: a bare BullMQ Worker draining a queue, with a processor that only
 * reads the job's envelope. Configuration: BARE_WORKER_CONFIG = { redisUrl, root, queue,
 * concurrency }. Prints `{"ready":true}` once its connection is up; runs until SIGTERM.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

import { redisOptionsFromUrl } from '@countersign/common';
import { queuePrefix, type ConsumerJob } from '@countersign/queue';

interface BareWorkerConfig {
  readonly redisUrl: string;
  readonly root: string;
  readonly queue: string;
  readonly concurrency: number;
}

function main(): void {
  const raw = process.env.BARE_WORKER_CONFIG;
  if (raw === undefined) throw new Error('BARE_WORKER_CONFIG is required');
  const config = JSON.parse(raw) as BareWorkerConfig;
  const connection = new Redis(redisOptionsFromUrl(config.redisUrl, { forBlockingWorker: true }));
  const worker = new Worker<ConsumerJob>(
    config.queue,
    (job) => {
      if (typeof job.data.envelope.deliveryKey !== 'string') {
        return Promise.reject(new Error('not a consumer job'));
      }
      return Promise.resolve();
    },
    {
      connection,
      prefix: queuePrefix(config.root, config.queue),
      concurrency: config.concurrency,
    },
  );
  worker.on('error', (error) => process.stderr.write(`worker: ${error.message}\n`));
  void worker.waitUntilReady().then(() => process.stdout.write('{"ready":true}\n'));

  const stop = (): void => {
    void worker
      .close()
      .then(() => connection.quit())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
