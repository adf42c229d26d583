import { readdirSync, readFileSync } from 'node:fs';

import { parseConnectDelivery } from './connect-delivery.parser.js';
import type { ConnectEvent } from './connect-event.js';
import { deliveryKey } from './delivery-key.js';

const FIXTURES = new URL('../../../test/fixtures/connect/', import.meta.url);
const FIXTURE_NAMES = readdirSync(FIXTURES).filter((name) => /\.(json|xml)$/.test(name));

function eventOf(name: string): ConnectEvent {
  const contentType = name.endsWith('.xml') ? 'text/xml' : 'application/json';
  const result = parseConnectDelivery(readFileSync(new URL(name, FIXTURES)), contentType);
  if (!result.ok) throw new Error(`${name}: ${result.reason}`);
  return result.event;
}

function keyOfJson(body: unknown): string {
  const result = parseConnectDelivery(Buffer.from(JSON.stringify(body)), 'application/json');
  if (!result.ok) throw new Error(result.detail);
  return deliveryKey(result.event);
}

describe('deliveryKey', () => {
  it('reads all twelve fixtures', () => {
    expect(FIXTURE_NAMES).toHaveLength(12);
  });

  it('gives a redelivery (retryCount 1) the same key as the first delivery', () => {
    expect(deliveryKey(eventOf('envelope-completed-retry.json'))).toBe(
      deliveryKey(eventOf('envelope-completed.json')),
    );
  });

  it('gives every other fixture its own key', () => {
    const keys = FIXTURE_NAMES.filter((name) => name !== 'envelope-completed-retry.json').map(
      (name) => deliveryKey(eventOf(name)),
    );

    expect(new Set(keys).size).toBe(keys.length);
  });

  it('keeps the XML and JSON deliveries of the same completion apart', () => {
    const xml = eventOf('envelope-completed.xml');
    const json = eventOf('envelope-completed.json');

    expect(xml.generatedAt).toBe(json.generatedAt);
    expect(deliveryKey(xml)).not.toBe(deliveryKey(json));
  });

  it('is a base64url SHA-256 that is safe as a BullMQ job id', () => {
    expect(deliveryKey(eventOf('envelope-sent.json'))).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('ignores key order, whitespace and escapes in the body', () => {
    const body = { event: 'envelope-sent', retryCount: 0, data: { a: 1, b: '/x' } };
    const reordered =
      '{ "data": { "b": "\\/x", "a": 1 },\r\n "retryCount": 3, "event": "envelope-sent" }';
    const result = parseConnectDelivery(Buffer.from(reordered), 'application/json');

    expect(result.ok && deliveryKey(result.event)).toBe(keyOfJson(body));
  });

  it.each([
    ['configurationId', { configurationId: 2 }],
    ['event', { event: 'envelope-delivered' }],
    ['generatedDateTime', { generatedDateTime: '2026-11-20T15:02:12.4410258Z' }],
    ['envelopeId', { data: { envelopeId: 'other' } }],
    ['recipientId', { data: { envelopeId: 'e', recipientId: '2' } }],
    ['accountId', { data: { envelopeId: 'e', accountId: 'other' } }],
    ['templateId', { data: { envelopeId: 'e', templateId: 't' } }],
    ['any other data', { data: { envelopeId: 'e', note: 'n' } }],
  ])('changes when %s changes', (_field, change) => {
    const base = {
      event: 'envelope-sent',
      configurationId: 1,
      generatedDateTime: '2026-11-20T15:02:12.4410257Z',
      data: { envelopeId: 'e' },
    };

    expect(keyOfJson({ ...base, ...change })).not.toBe(keyOfJson(base));
  });

  it('does not change with retryCount, uri or apiVersion', () => {
    const base = { event: 'envelope-sent', data: { envelopeId: 'e' } };

    expect(keyOfJson({ ...base, retryCount: 4, uri: '/x', apiVersion: 'v2.1' })).toBe(
      keyOfJson(base),
    );
  });

  it('changes when the carried documents change', () => {
    const withPdf = (pdf: string) => ({
      event: 'envelope-completed',
      data: {
        envelopeSummary: { envelopeDocuments: [{ documentId: '1', name: 'a.pdf', PDFBytes: pdf }] },
      },
    });

    expect(keyOfJson(withPdf('AAAA'))).not.toBe(keyOfJson(withPdf('AAAAAAAA')));
  });

  it.each([
    ['envelope-completed-retry.json', '9fo3L04U77cZKLAONP5aIWjpNji10-E0b7ZLw7mOeNg'],
    ['envelope-completed-with-documents.json', 'wRXei1Rqh6WEck0RzqVAMGa_dF5EP2LBlIeKZfB_N-c'],
    ['envelope-completed.json', '9fo3L04U77cZKLAONP5aIWjpNji10-E0b7ZLw7mOeNg'],
    ['envelope-completed.xml', 'Y7fEYQKljmSEMZjQUDO2vGh27PFD1i2FbZ8Bfg_6Nvs'],
    ['envelope-declined.json', 'uRiMqhLPURhFUrOpFssBorZdvGUWaXJH0wgfpwG9nWo'],
    ['envelope-sent.json', 'nSGuzI1T6yR9-8Va_PXLn5vbbVaZm9dL7kfQLT2R6fQ'],
    ['envelope-sent.xml', 'cuJ0WzfPT45yzx7jXQROk-G31Jt16ufAkDZwvdcoCXI'],
    ['envelope-voided.json', 'EL8vdZWbkBDDH5fJd9czY_fbPgHi3drpBQ8Cv2p0gzg'],
    ['recipient-completed-pretty-crlf.json', '7i5mJVgqDr_8QhGgGWV4JD803qMsQrYfZHT0MuKE8ik'],
    ['recipient-completed.json', 'Ljju-v93hS6WpZ14KuNOVENycbEmyGxW4W48C5htABM'],
    ['template-modified.json', 'I6CkDy6bJqJjrn2vzWYKLgUO0KQdAjT5tyCnHbSJV7A'],
    ['unknown-event.json', 'jcaBr3GtkkDk_AdIAR3Cim1wBceqOOFq41hx-kyMPiM'],
  ])('keeps the key of %s stable across releases (%s)', (name, key) => {
    // a changed key would let every delivery of the last 14 days through the dedupe window again
    expect(deliveryKey(eventOf(name))).toBe(key);
  });
});
