import fc from 'fast-check';

import { extractDocuments, parseConnectDelivery } from './connect-delivery.parser.js';
import { CONNECT_PARSE_REASONS, type ParseResult } from './connect-event.js';
import { deliveryKey } from './delivery-key.js';

const CONTENT_TYPES = [
  undefined,
  '',
  'application/json',
  'application/json; charset=utf-8',
  'text/xml',
  'application/xml; charset=UTF-8',
  'text/plain',
];

const contentType = fc.constantFrom(...CONTENT_TYPES);

function expectWellFormed(result: ParseResult): void {
  if (result.ok) {
    expect(typeof result.event.event).toBe('string');
    expect(deliveryKey(result.event)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  } else {
    expect(CONNECT_PARSE_REASONS).toContain(result.reason);
    expect(result.detail.length).toBeGreaterThan(0);
  }
}

describe('parseConnectDelivery on arbitrary input', () => {
  it('never throws on arbitrary bytes and always gives a result', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), contentType, (bytes, type) => {
        expectWellFormed(parseConnectDelivery(Buffer.from(bytes), type));
        expect(typeof extractDocuments(Buffer.from(bytes), type).ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary strings and always gives a result', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 512 }), contentType, (text, type) => {
        expectWellFormed(parseConnectDelivery(Buffer.from(text), type));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary JSON shaped like a Connect event', () => {
    const connectish = fc.record(
      {
        event: fc.oneof(fc.string(), fc.constant('envelope-sent'), fc.jsonValue()),
        retryCount: fc.jsonValue(),
        configurationId: fc.jsonValue(),
        generatedDateTime: fc.oneof(
          fc.string(),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        data: fc.oneof(
          fc.jsonValue(),
          fc.record({
            envelopeId: fc.jsonValue(),
            recipientId: fc.jsonValue(),
            envelopeSummary: fc.oneof(
              fc.jsonValue(),
              fc.record({
                status: fc.jsonValue(),
                statusChangedDateTime: fc.jsonValue(),
                envelopeDocuments: fc.jsonValue(),
              }),
            ),
          }),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(connectish, (body) => {
        expectWellFormed(
          parseConnectDelivery(Buffer.from(JSON.stringify(body)), 'application/json'),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary XML-like text under the DocuSign root', () => {
    const fragment = fc.array(
      fc.oneof(
        fc.constantFrom(
          '<EnvelopeStatus>',
          '</EnvelopeStatus>',
          '<Status>Sent</Status>',
          '<Status>',
          '<TimeGenerated>2026-01-01T00:00:00</TimeGenerated>',
          '<TimeZoneOffset>x</TimeZoneOffset>',
          '<DocumentPDFs><DocumentPDF><PDFBytes>AA</PDFBytes></DocumentPDF></DocumentPDFs>',
          '&amp;',
          '&#0;',
          '<![CDATA[x]]>',
          '<x:y xmlns:x="urn:z"/>',
        ),
        fc.string({ maxLength: 12 }),
      ),
      { maxLength: 20 },
    );
    fc.assert(
      fc.property(fragment, (parts) => {
        const body =
          '<DocuSignEnvelopeInformation xmlns="http://www.docusign.net/API/3.0">' +
          parts.join('') +
          '</DocuSignEnvelopeInformation>';
        expectWellFormed(parseConnectDelivery(Buffer.from(body), 'text/xml'));
      }),
      { numRuns: 500 },
    );
  });
});
