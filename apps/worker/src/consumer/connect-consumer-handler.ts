import type { ConnectEvent } from '@countersign/connect';
import type { DeliveryEvidence } from '@countersign/queue';

/** What a consumer receives: one verified envelope, its evidence, and its exact body on demand. */
export interface ConsumerEnvelope {
  readonly event: ConnectEvent;
  readonly evidence: DeliveryEvidence;
  /** The listener's id for this HTTP delivery (in every log line about it). */
  readonly deliveryId: string;
  /** Stable identity of the event: a redelivery of the same event has the same key. */
  readonly deliveryKey: string;
  /** The listener profile that received it. */
  readonly profile: string;
  readonly receivedAt: string;
  /** Which attempt this is, from 1. */
  readonly attempt: number;
  /** The exact body bytes, inline or from the payload store, checked against their SHA-256. */
  loadPayload(): Promise<Buffer>;
  /** The body's media type, SHA-256 (base64url) and size, as the listener received it. */
  readonly payload: {
    readonly contentType: string;
    readonly sha256: string;
    readonly size: number;
  };
}

/** The one method a `@ConnectConsumer` class implements. Throw to retry; return to complete. */
export interface ConnectConsumerHandler {
  handle(envelope: ConsumerEnvelope): Promise<void>;
  /** Called once before this process starts taking the consumer's jobs (check settings here). */
  onConsumerStart?(): Promise<void>;
}

/**
 * Thrown by a consumer when retrying cannot help (the envelope itself is unusable): the job goes
 * to the dead-letter queue at once instead of using up its attempts.
 */
export class EnvelopeRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeRejectedError';
  }
}
