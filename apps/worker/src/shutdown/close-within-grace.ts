import type { Logger } from '@nestjs/common';
import type { Worker } from 'bullmq';

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

  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const drained = Promise.allSettled(workers.map((worker) => worker.close())).then(
    () => 'drained' as const,
  );

  const outcome = await Promise.race([drained, graceOver]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    logger.warn({
      msg: 'shutdown grace period over; closing workers with jobs still running',
      graceMs,
    });
    await Promise.allSettled(workers.map((worker) => worker.close(true)));
  } else {
    logger.log({ msg: 'workers drained', workers: workers.map((worker) => worker.name) });
  }
}
