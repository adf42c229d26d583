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
  ];
  // the same text as JSON.stringify([...tuple, canonical(data)]), written without the sorted copy
  const text = `${JSON.stringify(tuple).slice(0, -1)},${canonicalJson(event.data) ?? 'null'}]`;
  return hash('sha256', text, 'base64url');
}

/**
 * `JSON.stringify(canonical(value))` written directly. The members of an object come out in the
 * order JSON.stringify gives the sorted copy: array-index keys first by number (as every object
 * orders them), then the other keys as sorted.
 */
export function canonicalJson(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let index = 0; index < value.length; index += 1) {
      items.push(canonicalJson(value[index]) ?? 'null');
    }
    return `[${items.join(',')}]`;
  }
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);

  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  // any object lists its array-index keys first, by number, whatever order they were added in
  const ordered = [
    ...keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b)),
    ...keys.filter((key) => !isArrayIndex(key)),
  ];
  const members: string[] = [];
  for (const key of ordered) {
    const member = canonicalJson(record[key]);
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
  }
  return `{${members.join(',')}}`;
}

/** Whether a property key is an array index (0 to 2^32 - 2 written canonically). */
function isArrayIndex(key: string): boolean {
  if (!/^(?:0|[1-9][0-9]{0,9})$/.test(key)) return false;
  return Number(key) < 2 ** 32 - 1;
}
