import { applyDecorators, Injectable, SetMetadata } from '@nestjs/common';
import type { ConnectConsumerOptions } from './consumer-options.js';

/** Metadata key under which `@ConnectConsumer` stores its options. */
export const CONNECT_CONSUMER_METADATA = 'countersign:connect-consumer';

/**
 * Declares a Connect consumer: an injectable class with a `handle(envelope)` method that receives
 * every verified envelope matching `events` (and `profiles`), from its own queue.
 */
export function ConnectConsumer(options: ConnectConsumerOptions): ClassDecorator {
  return applyDecorators(Injectable(), SetMetadata(CONNECT_CONSUMER_METADATA, options));
}
