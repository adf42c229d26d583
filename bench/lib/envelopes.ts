import { createHash, randomUUID } from 'node:crypto';

import { deliveryKey, parseConnectDelivery } from '@countersign/connect';
import type { VerifiedEnvelope } from '@countersign/queue';

import { DeliveryFactory } from './deliveries.js';

/**
 * Verified envelopes as the listener enqueues them (parsed event, delivery key, evidence, inline
 * payload), each for a different envelope, for the worker benchmark to pre-load.
 */
export function verifiedEnvelopes(count: number, profile: string): VerifiedEnvelope[] {
  const factory = new DeliveryFactory('bench-hmac-key-not-checked-by-the-worker');
  const contentType = 'application/json; charset=utf-8';
  const envelopes: VerifiedEnvelope[] = [];
  for (let i = 0; i < count; i += 1) {
    const { body } = factory.next();
    const parsed = parseConnectDelivery(body, contentType);
    if (!parsed.ok) throw new Error(`bench delivery does not parse: ${parsed.reason}`);
    envelopes.push({
      version: 1,
      deliveryId: randomUUID(),
      deliveryKey: deliveryKey(parsed.event),
      profile,
      receivedAt: new Date().toISOString(),
      event: parsed.event,
      evidence: {
        checks: ['mtls', 'oauth', 'bound-token', 'hmac'],
        hmac: { keyId: 'bench-1', header: 1 },
      },
      payload: {
        kind: 'inline',
        contentType,
        base64: body.toString('base64'),
        sha256: createHash('sha256').update(body).digest('base64url'),
        size: body.length,
      },
    });
  }
  return envelopes;
}
