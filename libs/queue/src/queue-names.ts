/** The listener's queue of verified envelopes; the dispatcher consumes it. */
export const DELIVERIES_QUEUE = 'deliveries';

/** Deliveries that passed authentication but whose body could not be parsed, kept raw. */
export const QUARANTINE_QUEUE = 'quarantine';

/** Consumer jobs that used up their attempts, with their error and attempt count. */
export const DEAD_LETTER_QUEUE = 'dead-letters';

/** Job names, one per payload type. */
export const JOB_NAMES = {
  verifiedEnvelope: 'verified-envelope',
  quarantinedDelivery: 'quarantined-delivery',
  consumerDelivery: 'consumer-delivery',
  deadLetter: 'dead-letter',
} as const;

/** The queue a consumer reads from: one per consumer, so none delays another. */
export function consumerQueueName(consumer: string): string {
  return `consumer-${consumer}`;
}

/**
 * The BullMQ prefix for one queue. It carries the queue name as a Redis Cluster hash tag, so every
 * key of that queue lands in one slot (BullMQ's Lua scripts need that) while different queues can
 * spread over the cluster.
 */
export function queuePrefix(root: string, queueName: string): string {
  return `${root}:{${queueName}}`;
}

/** How long a delivery key is remembered to answer a redelivery without enqueueing it again. */
export const DEDUPE_WINDOW_MS = 14 * 24 * 60 * 60 * 1000;
