import type { Logger } from '@nestjs/common';

const QUIET_MS = 10_000;

/**
 * An error listener for BullMQ workers that logs the first error and then at most one every ten
 * seconds, with how many were left out: an outage is visible without flooding the log.
 */
export function throttledErrorLog(
  logger: Logger,
  msg: string,
  context: Record<string, unknown>,
): (error: Error) => void {
  let lastLoggedAt = 0;
  let suppressed = 0;
  return (error: Error) => {
    const now = Date.now();
    if (now - lastLoggedAt < QUIET_MS) {
      suppressed += 1;
      return;
    }
    logger.error({ msg, ...context, error: error.message, suppressed });
    lastLoggedAt = now;
    suppressed = 0;
  };
}
