import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { fromRoot } from './paths.js';

/** The envelope id of the fixture the bench deliveries are made from. */
const FIXTURE_ENVELOPE_ID = 'f3a9c2d1-7b4e-4c8a-a1d6-5e2f8b0c9d37';

/** One Connect delivery: exact body bytes and its `X-DocuSign-Signature-1` value. */
export interface SignedDelivery {
  readonly body: Buffer;
  readonly signature: string;
}

/** DocuSign's HMAC: base64 HMAC-SHA256 keyed with the key string's UTF-8 bytes, over raw bytes. */
export function connectSignature(key: string, body: Buffer): string {
  return createHmac('sha256', key).update(body).digest('base64');
}

/**
 * Makes 2.6 KB `envelope-completed` deliveries (the fixture's bytes), each with a fresh envelope id
 * so that no two share a delivery key and every one is really enqueued, never answered as a
 * duplicate.
 */
export class DeliveryFactory {
  private readonly parts: string[];

  constructor(private readonly hmacKey: string) {
    const template = readFileSync(
      fromRoot('test/fixtures/connect/envelope-completed.json'),
      'utf8',
    );
    this.parts = template.split(FIXTURE_ENVELOPE_ID);
  }

  next(): SignedDelivery {
    const body = Buffer.from(this.parts.join(randomUUID()));
    return { body, signature: connectSignature(this.hmacKey, body) };
  }
}

/**
 * A completed envelope of about `sizeBytes` bytes: the documents fixture with its first PDF
 * replaced by a base64 PDF-looking blob, as DocuSign sends when "include documents" is on.
 */
export function largeDelivery(hmacKey: string, sizeBytes: number): SignedDelivery {
  const fixture = readFileSync(
    fromRoot('test/fixtures/connect/envelope-completed-with-documents.json'),
    'utf8',
  ).split(FIXTURE_ENVELOPE_ID);
  const text = fixture.join(randomUUID());
  const marker = '"PDFBytes":"';
  const start = text.indexOf(marker) + marker.length;
  const end = text.indexOf('"', start);
  const pdfSize = Math.floor(((sizeBytes - (text.length - (end - start))) * 3) / 4);
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(Math.max(pdfSize - 9, 0))]);
  const body = Buffer.concat([
    Buffer.from(text.slice(0, start)),
    Buffer.from(pdf.toString('base64')),
    Buffer.from(text.slice(end)),
  ]);
  return { body, signature: connectSignature(hmacKey, body) };
}

/** A random HMAC key shaped like DocuSign's (44 base64 characters ending in `=`). */
export function benchHmacKey(): string {
  return randomBytes(32).toString('base64');
}
