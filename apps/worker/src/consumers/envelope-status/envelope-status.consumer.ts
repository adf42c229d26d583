import { Logger } from '@nestjs/common';
import { ConnectConsumer } from '../../consumer/connect-consumer.decorator.js';
import type {
  ConnectConsumerHandler,
  ConsumerEnvelope,
} from '../../consumer/connect-consumer-handler.js';
import { EnvelopeStatusStore, isEnvelopeId } from './envelope-status.store.js';

/** Keeps the latest status of every envelope, whatever order Connect delivers its events in. */
@ConnectConsumer({
  name: 'envelope-status',
  events: ['envelope-*', 'recipient-*'],
  concurrency: 10,
})
export class EnvelopeStatusConsumer implements ConnectConsumerHandler {
  private readonly logger = new Logger(EnvelopeStatusConsumer.name);

  constructor(private readonly store: EnvelopeStatusStore) {}

  async handle({ event, deliveryId }: ConsumerEnvelope): Promise<void> {
    if (!event.envelopeId || !isEnvelopeId(event.envelopeId) || !event.status) {
      this.logger.debug({
        msg: 'event carries no envelope status',
        deliveryId,
        event: event.event,
      });
      return;
    }

    const applied = await this.store.apply({
      envelopeId: event.envelopeId,
      status: event.status,
      event: event.event,
      asOf: event.statusChangedAt ?? event.generatedAt ?? null,
      deliveryId,
      updatedAt: new Date().toISOString(),
    });
    this.logger.log({
      msg: applied ? 'envelope status updated' : 'older envelope status ignored',
      deliveryId,
      envelopeId: event.envelopeId,
      status: event.status,
    });
  }
}
