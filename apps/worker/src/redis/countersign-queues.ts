import {
  consumerQueueName,
  DEAD_LETTER_QUEUE,
  DELIVERIES_QUEUE,
  QUARANTINE_QUEUE,
} from '@countersign/queue';
import type { ConsumerRegistry } from '../consumer/consumer-registry.js';

/** Every Countersign queue of this application, in the order a delivery meets them. */
export function countersignQueueNames(consumers: ConsumerRegistry): string[] {
  return [
    DELIVERIES_QUEUE,
    QUARANTINE_QUEUE,
    ...consumers.all().map((consumer) => consumerQueueName(consumer.options.name)),
    DEAD_LETTER_QUEUE,
  ];
}
