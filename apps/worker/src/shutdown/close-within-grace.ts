import type { Logger } from '@nestjs/common';
import type { Worker } from 'bullmq';
import { settledWithin } from './within.js';

const FORCED_CLOSE_MS = 2000;

/**
 * Stops workers taking new jobs and waits for their running jobs, at most `graceMs`; then closes
 * them by force. A job cut off this way keeps its lock until it expires and runs again after stall
 * detection, so nothing is lost.
 */
export async function closeWithinGrace(
  workers: readonly Worker[],
  graceMs: number,
  logger: Logger,
): Promise<void> {
  if (workers.length === 0) return;

  const drained = await settledWithin(
    Promise.allSettled(workers.map((worker) => worker.close())),
    graceMs,
  );
  if (drained) {
    logger.log({ msg: 'workers drained', queues: workers.map((worker) => worker.name) });
    return;
  }

  logger.warn({
    msg: 'shutdown grace period over; closing workers with jobs still running',
    graceMs,
  });
  await settledWithin(
    Promise.allSettled(workers.map((worker) => worker.close(true))),
    FORCED_CLOSE_MS,
  );
}
