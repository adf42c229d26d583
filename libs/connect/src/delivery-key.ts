import { hash } from 'node:crypto';

import type { ConnectEvent } from './connect-event.js';

const KEY_VERSION = 'connect-delivery-key/v1';

/**
 * The stable identity of a Connect event: the same for every redelivery of it, different for
 * any other event. It is `base64url(SHA-256(JSON.stringify(tuple)))` over
 * `[version, format, configurationId, event, accountId, envelopeId, recipientId, templateId,
 * generatedAt, statusChangedAt, documents as [documentId, name, sizeBytes], canonical(data)]`,
 * where a missing field is `null` and `canonical(data)` is `data` with object keys sorted at every
 * level. `retryCount` and the raw bytes never take part, so a retry (or the same JSON with other
 * whitespace and escapes) gives the same key. `format` does, so a legacy XML delivery and a JSON
 * SIM delivery of the same status change are two deliveries, each handled once.
 */
export function deliveryKey(event: ConnectEvent): string {
  const tuple = [
    KEY_VERSION,
    event.format,
    event.configurationId ?? null,
    event.event,
    event.accountId ?? null,
    event.envelopeId ?? null,
    event.recipientId ?? null,
    event.templateId ?? null,
    event.generatedAt ?? null,
    event.statusChangedAt ?? null,
    event.documents.map((document) => [document.documentId, document.name, document.sizeBytes]),
    canonical(event.data),
  ];
  return hash('sha256', JSON.stringify(tuple), 'base64url');
}

/** A copy of a JSON value with object keys sorted, so key order never matters. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}
