import type { VerifiedEnvelope } from '@countersign/queue';

/** Checks the parts of a job the worker relies on: the listener wrote it, but Redis is shared. */
export function isVerifiedEnvelope(value: unknown): value is VerifiedEnvelope {
  const envelope = value as Partial<VerifiedEnvelope> | undefined;
  return (
    envelope?.version === 1 &&
    typeof envelope.deliveryId === 'string' &&
    typeof envelope.deliveryKey === 'string' &&
    envelope.deliveryKey.length > 0 &&
    typeof envelope.profile === 'string' &&
    typeof envelope.event?.event === 'string' &&
    typeof envelope.payload === 'object' &&
    envelope.payload !== null
  );
}
