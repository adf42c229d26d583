import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import {
  extractDocuments,
  parseConnectDelivery,
  parseConnectDeliveryYielding,
} from './connect-delivery.parser.js';
import type { ConnectEvent } from './connect-event.js';

const FIXTURES = new URL('../../../test/fixtures/connect/', import.meta.url);
const ENVELOPE_A = 'f3a9c2d1-7b4e-4c8a-a1d6-5e2f8b0c9d37';
const ENVELOPE_B = '0d4e6f81-3a2b-4c9d-8e7f-1a2b3c4d5e6f';
const ACCOUNT = '8c1f3a52-6d0e-4b7a-9f21-3e5d7c9a0b14';
const JSON_TYPE = 'application/json; charset=utf-8';
const XML_TYPE = 'text/xml; charset=utf-8';

function fixture(name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES));
}

function contentTypeOf(name: string): string {
  return name.endsWith('.xml') ? XML_TYPE : JSON_TYPE;
}

function parsed(body: Buffer | string, contentType: string = JSON_TYPE): ConnectEvent {
  const result = parseConnectDelivery(Buffer.from(body), contentType);
  if (!result.ok) throw new Error(`expected an event, got ${result.reason}: ${result.detail}`);
  return result.event;
}

function rejection(body: Buffer | string, contentType: string | undefined) {
  const result = parseConnectDelivery(Buffer.from(body), contentType);
  if (result.ok) throw new Error(`expected a rejection, got ${result.event.event}`);
  return result;
}

const DS = 'http://www.docusign.net/API/3.0';

function legacyXml(envelopeStatus: string, rest = ''): string {
  return (
    `<?xml version="1.0" encoding="utf-8"?><DocuSignEnvelopeInformation xmlns="${DS}">` +
    `<EnvelopeStatus>${envelopeStatus}</EnvelopeStatus>${rest}</DocuSignEnvelopeInformation>`
  );
}

describe('parseConnectDelivery: the fixtures', () => {
  it.each([
    ['envelope-sent.json', 'envelope-sent', ENVELOPE_A, undefined],
    ['recipient-completed.json', 'recipient-completed', ENVELOPE_A, '1'],
    ['envelope-completed.json', 'envelope-completed', ENVELOPE_A, undefined],
    ['envelope-completed-retry.json', 'envelope-completed', ENVELOPE_A, undefined],
    ['envelope-completed-with-documents.json', 'envelope-completed', ENVELOPE_A, undefined],
    ['envelope-voided.json', 'envelope-voided', ENVELOPE_B, undefined],
    ['envelope-declined.json', 'envelope-declined', ENVELOPE_B, '2'],
    ['template-modified.json', 'template-modified', undefined, undefined],
    ['unknown-event.json', 'envelope-reminder-sent', ENVELOPE_A, undefined],
    ['recipient-completed-pretty-crlf.json', 'recipient-completed', ENVELOPE_A, '1'],
    ['envelope-completed.xml', 'envelope-completed', ENVELOPE_A, undefined],
    ['envelope-sent.xml', 'envelope-sent', ENVELOPE_A, undefined],
  ])('reads %s as %s of envelope %s, recipient %s', (name, event, envelopeId, recipientId) => {
    const parsedEvent = parsed(fixture(name), contentTypeOf(name));

    expect(parsedEvent.format).toBe(name.endsWith('.xml') ? 'xml' : 'json');
    expect(parsedEvent.event).toBe(event);
    expect(parsedEvent.envelopeId).toBe(envelopeId);
    expect(parsedEvent.recipientId).toBe(recipientId);
  });

  it('reads the top-level JSON SIM fields and the envelope summary', () => {
    const event = parsed(fixture('envelope-completed.json'));

    expect(event).toMatchObject({
      apiVersion: 'v2.1',
      uri: `/restapi/v2.1/accounts/${ACCOUNT}/envelopes/${ENVELOPE_A}`,
      retryCount: 0,
      configurationId: 10482137,
      generatedAt: '2026-11-20T16:22:42.0918334Z',
      accountId: ACCOUNT,
      userId: '2b7e9d41-0c3a-4f65-8e12-9a4b6c8d0e21',
      status: 'completed',
      statusChangedAt: '2026-11-20T16:22:41.0200000Z',
      subject: 'Please sign: Master Services Agreement (Q4)',
      documents: [],
    });
    expect(event.data.envelopeId).toBe(ENVELOPE_A);
  });

  it('reads the template id of a template event', () => {
    const event = parsed(fixture('template-modified.json'));

    expect(event.templateId).toBe('4f5a6b7c-8d9e-4f0a-9b1c-2d3e4f5a6b7c');
    expect(event.statusChangedAt).toBe('2026-11-22T11:00:00.0000000Z');
  });

  it('falls back to generatedDateTime for the status time when there is no summary', () => {
    const event = parsed(fixture('recipient-completed.json'));

    expect(event.status).toBeUndefined();
    expect(event.statusChangedAt).toBe('2026-11-20T15:11:03.8817722Z');
  });

  it('reads the pretty-printed CRLF body with escapes and non-ASCII text like the compact one', () => {
    const pretty = parsed(fixture('recipient-completed-pretty-crlf.json'));

    expect(pretty.uri).toBe(`/restapi/v2.1/accounts/${ACCOUNT}/envelopes/${ENVELOPE_A}`);
    expect(pretty.data.note).toBe('Zoë Ångström – signed');
  });

  it('counts the JSON documents without keeping their PDF bytes in the event', () => {
    const event = parsed(fixture('envelope-completed-with-documents.json'));

    expect(event.documents).toEqual([
      { documentId: '1', name: 'Master Services Agreement.pdf', sizeBytes: 193 },
      { documentId: 'certificate', name: 'Summary', sizeBytes: 193 },
    ]);
    expect(JSON.stringify(event)).not.toContain('PDFBytes');
    expect(JSON.stringify(event)).not.toContain('JVBERi0');
  });

  it('maps the legacy status to the JSON event name and its timestamps to UTC with TimeZoneOffset', () => {
    const event = parsed(fixture('envelope-completed.xml'), XML_TYPE);

    expect(event).toMatchObject({
      format: 'xml',
      event: 'envelope-completed',
      status: 'completed',
      accountId: ACCOUNT,
      generatedAt: '2026-11-20T16:22:42.0918334Z',
      statusChangedAt: '2026-11-20T16:22:41.02Z',
      subject: 'Please sign: Master Services Agreement (Q4)',
      documents: [{ documentId: '1', name: 'Master Services Agreement.pdf', sizeBytes: 193 }],
    });
  });

  it('renders EnvelopeStatus as plain data, decoding &amp; and keeping repeated elements as arrays', () => {
    const { data } = parsed(fixture('envelope-completed.xml'), XML_TYPE);
    const recipients = (data.RecipientStatuses as { RecipientStatus: Record<string, unknown>[] })
      .RecipientStatus;

    expect(recipients).toHaveLength(2);
    expect(recipients[1].UserName).toBe('Records Desk & Archive');
    expect(recipients[0].DeclineReason).toBeNull();
    expect(data.DocumentStatuses).toEqual({
      DocumentStatus: [
        { ID: '1', Name: 'Master Services Agreement.pdf', TemplateName: '', Sequence: '1' },
      ],
    });
    expect(JSON.stringify(data)).not.toContain('JVBERi0');
  });

  it('reads the sent XML without an account custom field', () => {
    const event = parsed(fixture('envelope-sent.xml'), 'application/xml');

    expect(event.accountId).toBeUndefined();
    expect(event.generatedAt).toBe('2026-11-20T15:02:12.4410257Z');
    expect(event.statusChangedAt).toBe('2026-11-20T15:02:11.317Z');
    expect(event.documents).toEqual([]);
  });
});

describe('parseConnectDelivery: media types and empty bodies', () => {
  it.each([
    ['application/json', 'json'],
    ['Application/JSON', 'json'],
    ['application/json;charset=UTF-8', 'json'],
    ['application/json; charset="utf-8"', 'json'],
  ])('accepts JSON sent as %s', (contentType, format) => {
    expect(parsed(fixture('recipient-completed.json'), contentType).format).toBe(format);
  });

  it.each(['text/xml', 'application/xml', 'text/xml; charset=utf-8'])(
    'accepts XML sent as %s',
    (contentType) => {
      expect(parsed(fixture('envelope-sent.xml'), contentType).format).toBe('xml');
    },
  );

  it.each([
    ['no content type', undefined],
    ['an empty content type', ''],
    ['text/plain', 'text/plain'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['application/jsonx', 'application/jsonx'],
    ['a JSON content type in another charset', 'application/json; charset=iso-8859-1'],
    ['multipart/form-data', 'multipart/form-data; boundary=x'],
  ])('rejects a body sent with %s as an unsupported media type', (_label, contentType) => {
    expect(rejection(fixture('recipient-completed.json'), contentType).reason).toBe(
      'body_unsupported_media_type',
    );
  });

  it('rejects an XML body labelled as JSON as malformed JSON', () => {
    expect(rejection(fixture('envelope-sent.xml'), JSON_TYPE).reason).toBe('body_malformed_json');
  });

  it('rejects a JSON body labelled as XML as malformed XML', () => {
    expect(rejection(fixture('envelope-sent.json'), XML_TYPE).reason).toBe('body_malformed_xml');
  });

  it.each([
    ['an empty body', ''],
    ['a whitespace-only body', ' \r\n\t'],
    ['a body of vertical tabs and form feeds', '\v\f\v'],
  ])('rejects %s as body_empty', (_label, body) => {
    expect(rejection(body, JSON_TYPE).reason).toBe('body_empty');
    expect(rejection(body, XML_TYPE).reason).toBe('body_empty');
  });

  it('reads a body that starts with blank lines as a body, not as empty', () => {
    const body = Buffer.concat([Buffer.from('\r\n \n'), fixture('envelope-sent.json')]);

    expect(parsed(body).event).toBe('envelope-sent');
  });
});

describe('parseConnectDelivery: JSON SIM', () => {
  const minimal = { event: 'envelope-sent', data: { envelopeId: ENVELOPE_A } };

  it('accepts the smallest JSON SIM event: an event name and a data object', () => {
    expect(parsed(JSON.stringify(minimal))).toEqual({
      format: 'json',
      event: 'envelope-sent',
      envelopeId: ENVELOPE_A,
      documents: [],
      data: { envelopeId: ENVELOPE_A },
    });
  });

  it('rejects malformed JSON', () => {
    const result = rejection('{"event": "envelope-sent", data: {}}', JSON_TYPE);

    expect(result.reason).toBe('body_malformed_json');
    expect(result.detail).toMatch(/not JSON/);
  });

  it('rejects a truncated JSON body', () => {
    const whole = fixture('envelope-completed.json');

    expect(rejection(whole.subarray(0, whole.length - 7), JSON_TYPE).reason).toBe(
      'body_malformed_json',
    );
  });

  it('rejects a body that is not UTF-8', () => {
    expect(rejection(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), JSON_TYPE).reason).toBe(
      'body_malformed_json',
    );
  });

  it('drops __proto__, constructor and prototype keys so nothing is polluted', () => {
    const body =
      '{"event":"envelope-sent","__proto__":{"polluted":true},"data":{"envelopeId":"e",' +
      '"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},' +
      '"nested":{"__proto__":{"isAdmin":true},"prototype":1,"kept":2}}}';
    const event = parsed(body);
    const copy = { ...event.data, ...(event.data.nested as object) };

    expect(Object.keys(event.data).sort()).toEqual(['envelopeId', 'nested']);
    expect(event.data.nested).toEqual({ kept: 2 });
    expect(Object.hasOwn(event.data, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(event.data)).toBe(Object.prototype);
    expect((copy as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('drops forbidden keys spelled with \\u escapes', () => {
    const body =
      '{"event":"envelope-sent","data":{"envelopeId":"e","\\u005f_proto__":{"isAdmin":true},' +
      '"construct\\u006fr":1,"\\u0070rototype":2,"kept":3}}';

    expect(parsed(body).data).toEqual({ envelopeId: 'e', kept: 3 });
  });

  it('drops forbidden keys spelled with \\u escapes from a large body', () => {
    const body = JSON.stringify({
      event: 'envelope-sent',
      data: { envelopeId: 'e', padding: 'x'.repeat(128 * 1024), kept: 1 },
    }).replace('"kept":1', '"kept":1,"\\u005f_proto__":{"isAdmin":true},"construct\\u006fr":2');
    const event = parsed(body);

    expect(Object.keys(event.data).sort()).toEqual(['envelopeId', 'kept', 'padding']);
    expect(Object.hasOwn(event.data, '__proto__')).toBe(false);
  });

  it('drops forbidden keys from a large body', () => {
    const body = JSON.stringify({
      event: 'envelope-sent',
      data: { envelopeId: 'e', padding: 'x'.repeat(128 * 1024), kept: 1 },
    }).replace('"kept":1', '"kept":1,"__proto__":{"isAdmin":true},"constructor":2');
    const event = parsed(body);

    expect(Object.keys(event.data).sort()).toEqual(['envelopeId', 'kept', 'padding']);
    expect(Object.hasOwn(event.data, '__proto__')).toBe(false);
  });

  it('keeps every key of a body that names no forbidden key', () => {
    const event = parsed('{"event":"envelope-sent","data":{"envelopeId":"e","protocol":"x"}}');

    expect(event.data).toEqual({ envelopeId: 'e', protocol: 'x' });
  });

  it.each([
    ['an array body', '[]', /not a JSON object/],
    ['a string body', '"envelope-sent"', /not a JSON object/],
    ['a missing event', { data: {} }, /`event`/],
    ['an empty event name', { event: '', data: {} }, /`event`/],
    ['an event name that is not a token', { event: 'envelope sent\n', data: {} }, /`event`/],
    ['a numeric event', { event: 7, data: {} }, /`event`/],
    ['a missing data object', { event: 'envelope-sent' }, /`data`/],
    ['a data array', { event: 'envelope-sent', data: [] }, /`data`/],
    ['a negative retryCount', { ...minimal, retryCount: -1 }, /`retryCount`/],
    ['a fractional retryCount', { ...minimal, retryCount: 1.5 }, /`retryCount`/],
    ['a string retryCount', { ...minimal, retryCount: '1' }, /`retryCount`/],
    ['a string configurationId', { ...minimal, configurationId: '10482137' }, /configurationId/],
    ['a numeric apiVersion', { ...minimal, apiVersion: 2.1 }, /`apiVersion`/],
    ['an object uri', { ...minimal, uri: {} }, /`uri`/],
    [
      'an unreadable generatedDateTime',
      { ...minimal, generatedDateTime: 'yesterday' },
      /generated/,
    ],
    ['an impossible date', { ...minimal, generatedDateTime: '2026-02-30T00:00:00Z' }, /generated/],
    ['a numeric envelopeId', { event: 'envelope-sent', data: { envelopeId: 1 } }, /envelopeId/],
    ['an object recipientId', { event: 'x', data: { recipientId: {} } }, /recipientId/],
    ['a summary array', { event: 'x', data: { envelopeSummary: [] } }, /envelopeSummary/],
    ['a numeric status', { event: 'x', data: { envelopeSummary: { status: 1 } } }, /status/],
    [
      'an unreadable statusChangedDateTime',
      { event: 'x', data: { envelopeSummary: { statusChangedDateTime: '20/11/2026' } } },
      /statusChangedDateTime/,
    ],
    [
      'documents that are not an array',
      { event: 'x', data: { envelopeSummary: { envelopeDocuments: {} } } },
      /envelopeDocuments/,
    ],
    [
      'PDF bytes that are not base64',
      {
        event: 'x',
        data: {
          envelopeSummary: {
            envelopeDocuments: [{ documentId: '1', name: 'a.pdf', PDFBytes: 'not base64!' }],
          },
        },
      },
      /PDFBytes is not base64/,
    ],
    [
      'a PDF without a document id',
      { event: 'x', data: { envelopeSummary: { envelopeDocuments: [{ PDFBytes: 'AAAA' }] } } },
      /documentId and name/,
    ],
  ])('rejects %s as an invalid event', (_label, body, detail) => {
    const result = rejection(typeof body === 'string' ? body : JSON.stringify(body), JSON_TYPE);

    expect(result.reason).toBe('body_invalid_event');
    expect(result.detail).toMatch(detail);
  });

  it('rejects a body nested deeper than any Connect event', () => {
    const deep = '['.repeat(100) + ']'.repeat(100);
    const body = `{"event":"x","data":{"deep":${deep}}}`;

    expect(rejection(body, JSON_TYPE).reason).toBe('body_invalid_event');
  });

  it('accepts an event name it has never seen', () => {
    expect(parsed(JSON.stringify({ event: 'click-agreed', data: {} })).event).toBe('click-agreed');
  });

  it('normalises a generatedDateTime with an offset to UTC', () => {
    const event = parsed(
      JSON.stringify({ ...minimal, generatedDateTime: '2026-11-20T08:22:42.5-08:00' }),
    );

    expect(event.generatedAt).toBe('2026-11-20T16:22:42.5Z');
  });
});

describe('parseConnectDelivery: legacy XML hardening', () => {
  const status = '<Status>Sent</Status><EnvelopeID>e-1</EnvelopeID>';

  it('accepts a minimal legacy envelope and reads its timestamps as UTC without TimeZoneOffset', () => {
    const event = parsed(
      legacyXml(`${status}<TimeGenerated>2026-11-20T07:02:12.44</TimeGenerated>`),
      XML_TYPE,
    );

    expect(event).toMatchObject({
      event: 'envelope-sent',
      envelopeId: 'e-1',
      generatedAt: '2026-11-20T07:02:12.44Z',
      statusChangedAt: '2026-11-20T07:02:12.44Z',
    });
  });

  it.each([
    ['Created', 'envelope-created'],
    ['Delivered', 'envelope-delivered'],
    ['Declined', 'envelope-declined'],
    ['Voided', 'envelope-voided'],
    ['Corrected', 'envelope-corrected'],
  ])('maps the legacy status %s to %s', (legacyStatus, event) => {
    expect(parsed(legacyXml(`<Status>${legacyStatus}</Status>`), XML_TYPE).event).toBe(event);
  });

  it('reads a prefixed root element bound to the DocuSign namespace', () => {
    const body =
      `<ds:DocuSignEnvelopeInformation xmlns:ds="${DS}"><ds:EnvelopeStatus>` +
      '<ds:Status>Completed</ds:Status><ds:EnvelopeID>e-2</ds:EnvelopeID>' +
      '</ds:EnvelopeStatus></ds:DocuSignEnvelopeInformation>';

    expect(parsed(body, XML_TYPE)).toMatchObject({
      event: 'envelope-completed',
      envelopeId: 'e-2',
    });
  });

  it('leaves elements of other namespaces out of the event', () => {
    const body = legacyXml(`${status}<x:EnvelopeID xmlns:x="urn:other">spoofed</x:EnvelopeID>`);

    expect(parsed(body, XML_TYPE).envelopeId).toBe('e-1');
  });

  it('decodes character references and keeps a double-escaped entity literal', () => {
    const body = legacyXml(`${status}<Subject>A &#38; B &#x263A; &amp;lt;</Subject>`);

    expect(parsed(body, XML_TYPE).subject).toBe('A & B ☺ &lt;');
  });

  it('refuses a DOCTYPE before parsing', () => {
    const body = `<?xml version="1.0"?><!DOCTYPE DocuSignEnvelopeInformation>${legacyXml(status)}`;

    expect(rejection(body, XML_TYPE).reason).toBe('body_forbidden_dtd');
  });

  it('refuses an external entity (XXE) without reading the file', () => {
    const body =
      '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
      legacyXml(`${status}<Subject>&xxe;</Subject>`);
    const result = rejection(body, XML_TYPE);

    expect(result.reason).toBe('body_forbidden_dtd');
    expect(result.detail).not.toContain('root:');
  });

  it('refuses billion laughs without expanding anything', () => {
    const entities = Array.from(
      { length: 9 },
      (_, level) => `<!ENTITY lol${level + 1} "${`&lol${level};`.repeat(10)}">`,
    ).join('');
    const body =
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">${entities}]>` +
      legacyXml(`${status}<Subject>&lol9;</Subject>`);
    const started = process.hrtime.bigint();

    expect(rejection(body, XML_TYPE).reason).toBe('body_forbidden_dtd');
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1000);
  });

  it('refuses a lowercase or spaced doctype as well', () => {
    expect(rejection(`<!doctype x>${legacyXml(status)}`, XML_TYPE).reason).toBe(
      'body_forbidden_dtd',
    );
    expect(rejection(`<! ENTITY x "y">${legacyXml(status)}`, XML_TYPE).reason).toBe(
      'body_forbidden_dtd',
    );
  });

  it('rejects an entity that no DTD defines as malformed XML', () => {
    expect(rejection(legacyXml(`${status}<Subject>&nbsp;</Subject>`), XML_TYPE).reason).toBe(
      'body_malformed_xml',
    );
  });

  it.each([
    ['an unclosed element', `<DocuSignEnvelopeInformation xmlns="${DS}"><EnvelopeStatus>`],
    ['mismatched tags', `<DocuSignEnvelopeInformation xmlns="${DS}"></EnvelopeStatus>`],
    ['text that is not XML', 'Completed'],
    ['two root elements', `${legacyXml(status)}${legacyXml(status)}`],
    ['a truncated fixture', fixture('envelope-sent.xml').subarray(0, 900).toString()],
  ])('rejects %s as malformed XML', (_label, body) => {
    expect(rejection(body, XML_TYPE).reason).toBe('body_malformed_xml');
  });

  it('rejects elements nested deeper than any Connect envelope', () => {
    const body = legacyXml(
      `${status}<CustomFields>${'<a>'.repeat(200)}${'</a>'.repeat(200)}</CustomFields>`,
    );

    expect(rejection(body, XML_TYPE).reason).toBe('body_malformed_xml');
  });

  it.each([
    [
      'a root in no namespace',
      `<DocuSignEnvelopeInformation><EnvelopeStatus>${status}</EnvelopeStatus></DocuSignEnvelopeInformation>`,
    ],
    [
      'a root in another namespace',
      `<DocuSignEnvelopeInformation xmlns="http://www.docusign.net/API/2.0"><EnvelopeStatus>${status}</EnvelopeStatus></DocuSignEnvelopeInformation>`,
    ],
    [
      'the right namespace on another root',
      `<EnvelopeInformation xmlns="${DS}"><EnvelopeStatus>${status}</EnvelopeStatus></EnvelopeInformation>`,
    ],
    [
      'an unbound prefix',
      `<ds:DocuSignEnvelopeInformation><ds:EnvelopeStatus>${status}</ds:EnvelopeStatus></ds:DocuSignEnvelopeInformation>`,
    ],
    [
      'two root elements without a declaration',
      `<DocuSignEnvelopeInformation xmlns="${DS}"/><DocuSignEnvelopeInformation xmlns="${DS}"/>`,
    ],
  ])('rejects %s as an invalid event', (_label, body) => {
    const result = rejection(body, XML_TYPE);

    expect(result.reason).toBe('body_invalid_event');
  });

  it.each([
    [
      'no EnvelopeStatus',
      `<DocuSignEnvelopeInformation xmlns="${DS}"><TimeZone>x</TimeZone></DocuSignEnvelopeInformation>`,
      /EnvelopeStatus/,
    ],
    ['an empty root', `<DocuSignEnvelopeInformation xmlns="${DS}"/>`, /empty/],
    ['no Status', legacyXml('<EnvelopeID>e</EnvelopeID>'), /Status/],
    ['a Status that is not a name', legacyXml('<Status>Sent Twice</Status>'), /Status/],
    [
      'an unreadable TimeGenerated',
      legacyXml(`${status}<TimeGenerated>soon</TimeGenerated>`),
      /TimeGenerated/,
    ],
    [
      'an unreadable TimeZoneOffset',
      legacyXml(status, '<TimeZoneOffset>PST</TimeZoneOffset>'),
      /TimeZoneOffset/,
    ],
    ['a status time that is not a timestamp', legacyXml(`${status}<Sent>x</Sent>`), /Sent/],
    [
      'PDF bytes that are not base64',
      legacyXml(
        status,
        '<DocumentPDFs><DocumentPDF><Name>a</Name><DocumentID>1</DocumentID><PDFBytes>%%%</PDFBytes></DocumentPDF></DocumentPDFs>',
      ),
      /base64/,
    ],
    [
      'a PDF without an id',
      legacyXml(
        status,
        '<DocumentPDFs><DocumentPDF><Name>a</Name><PDFBytes>AAAA</PDFBytes></DocumentPDF></DocumentPDFs>',
      ),
      /DocumentID/,
    ],
  ])('rejects an envelope with %s', (_label, body, detail) => {
    const result = rejection(body, XML_TYPE);

    expect(result.reason).toBe('body_invalid_event');
    expect(result.detail).toMatch(detail);
  });
});

describe('extractDocuments', () => {
  it('decodes the PDFs of a JSON delivery', () => {
    const result = extractDocuments(fixture('envelope-completed-with-documents.json'), JSON_TYPE);

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.documents.map(({ documentId, name }) => [documentId, name])).toEqual([
      ['1', 'Master Services Agreement.pdf'],
      ['certificate', 'Summary'],
    ]);
    for (const document of result.documents) {
      expect(document.pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      expect(document.pdf).toHaveLength(193);
    }
    expect(result.documents[0].pdf.equals(result.documents[1].pdf)).toBe(false);
  });

  it('decodes the PDFs of a legacy XML delivery', () => {
    const result = extractDocuments(fixture('envelope-completed.xml'), XML_TYPE);

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.documents).toHaveLength(1);
    expect(result.documents[0].documentId).toBe('1');
    expect(result.documents[0].pdf.toString('latin1')).toMatch(/^%PDF-1\.4[\s\S]*%%EOF\n$/);
  });

  it('accepts base64 broken over lines, as XML often carries it', () => {
    const body = legacyXml(
      '<Status>Completed</Status>',
      '<DocumentPDFs><DocumentPDF><Name>a.pdf</Name><DocumentID>7</DocumentID>' +
        '<PDFBytes>JVBE\r\nRi0x\n</PDFBytes></DocumentPDF></DocumentPDFs>',
    );
    const result = extractDocuments(Buffer.from(body), XML_TYPE);

    expect(result).toEqual({
      ok: true,
      documents: [{ documentId: '7', name: 'a.pdf', pdf: Buffer.from('%PDF-1') }],
    });
  });

  it('gives no documents for a delivery without any', () => {
    expect(extractDocuments(fixture('envelope-completed.json'), JSON_TYPE)).toEqual({
      ok: true,
      documents: [],
    });
  });

  it('rejects what parseConnectDelivery rejects', () => {
    expect(extractDocuments(Buffer.from('{'), JSON_TYPE)).toMatchObject({
      ok: false,
      reason: 'body_malformed_json',
    });
    expect(extractDocuments(fixture('envelope-completed.xml'), undefined)).toMatchObject({
      ok: false,
      reason: 'body_unsupported_media_type',
    });
  });
});

describe('extractDocuments: documents of many MiB', () => {
  const MIB = 1024 * 1024;
  // random bytes so the base64 has no repeating pattern a regex engine could shortcut
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(19 * MIB)]);
  const base64 = pdf.toString('base64');

  function jsonDelivery(pdfBytes: string): Buffer {
    return Buffer.from(
      JSON.stringify({
        event: 'envelope-completed',
        generatedDateTime: '2026-12-03T10:00:00.000Z',
        data: {
          envelopeId: ENVELOPE_A,
          envelopeSummary: {
            status: 'completed',
            envelopeDocuments: [{ documentId: '1', name: 'big.pdf', PDFBytes: pdfBytes }],
          },
        },
      }),
    );
  }

  it('parses and extracts a PDF whose base64 is over 25 MiB in JSON', () => {
    expect(base64.length).toBeGreaterThanOrEqual(25 * MIB);
    const body = jsonDelivery(base64);

    const event = parsed(body);
    const result = extractDocuments(body, JSON_TYPE);

    expect(event.documents).toEqual([{ documentId: '1', name: 'big.pdf', sizeBytes: pdf.length }]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.documents).toHaveLength(1);
    expect(result.documents[0].pdf.equals(pdf)).toBe(true);
  });

  it('parses and extracts a PDF whose base64 is over 25 MiB broken into lines in XML', () => {
    const lines = base64.match(/.{1,76}/g)!.join('\r\n');
    const body = Buffer.from(
      legacyXml(
        '<Status>Completed</Status>',
        '<DocumentPDFs><DocumentPDF><Name>big.pdf</Name><DocumentID>1</DocumentID>' +
          `<PDFBytes>${lines}</PDFBytes></DocumentPDF></DocumentPDFs>`,
      ),
    );

    const result = extractDocuments(body, XML_TYPE);

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.documents[0].pdf.equals(pdf)).toBe(true);
  });

  it('still rejects a 25 MiB document with one character outside the base64 alphabet', () => {
    const middle = base64.length / 2;
    const spoiled = `${base64.slice(0, middle)}!${base64.slice(middle + 1)}`;

    const result = rejection(jsonDelivery(spoiled), JSON_TYPE);

    expect(result.reason).toBe('body_invalid_event');
    expect(result.detail).toMatch(/PDFBytes is not base64/);
  });

  it('accepts base64 whose last character carries non-zero spare bits, as before', () => {
    const result = extractDocuments(jsonDelivery(`${base64.slice(0, 4 * MIB)}JVBERi1=`), JSON_TYPE);

    expect(result.ok).toBe(true);
  });

  it.each([
    ['padding that ends a 1 MiB slice in the middle of the text', `${'A'.repeat(MIB - 2)}==AAAA`],
    ['a URL-safe character deep inside a large document', `${base64.slice(0, 3 * MIB)}-_AA`],
    ['a character outside ASCII deep inside a large document', `${base64.slice(0, 2 * MIB)}AAé=`],
  ])('rejects PDF bytes with %s as not base64', (_label, pdfBytes) => {
    const result = rejection(jsonDelivery(pdfBytes), JSON_TYPE);

    expect(result.reason).toBe('body_invalid_event');
    expect(result.detail).toMatch(/PDFBytes is not base64/);
  });

  it.each([
    ['a length that is not a multiple of four', 'AAAAA'],
    ['three padding characters', 'A==='],
    ['padding in the middle', 'AA==AAAA'],
    ['padding alone', '===='],
    ['a URL-safe alphabet', 'AA-_'],
  ])('rejects PDF bytes with %s as not base64', (_label, pdfBytes) => {
    const result = rejection(jsonDelivery(pdfBytes), JSON_TYPE);

    expect(result.reason).toBe('body_invalid_event');
    expect(result.detail).toMatch(/PDFBytes is not base64/);
  });

  describe('parseConnectDeliveryYielding', () => {
    /** Counts event-loop turns (setImmediate callbacks) until `work` settles. */
    async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
      let turns = 0;
      let settled = false;
      const spin = () => {
        if (settled) return;
        turns += 1;
        setImmediate(spin);
      };
      setImmediate(spin);
      const result = await work();
      settled = true;
      return { result, turns };
    }

    it('reads a large body to the same event as parseConnectDelivery', async () => {
      const body = jsonDelivery(base64);

      expect(await parseConnectDeliveryYielding(body, JSON_TYPE)).toEqual(
        parseConnectDelivery(body, JSON_TYPE),
      );
    });

    it('lets the event loop run between the steps of a large body', async () => {
      const { result, turns } = await turnsDuring(() =>
        parseConnectDeliveryYielding(jsonDelivery(base64), JSON_TYPE),
      );

      expect(result.ok).toBe(true);
      // decoding, parsing and the one PDF's base64 each end a step
      expect(turns).toBeGreaterThanOrEqual(3);
    });

    it('reads a small body at once, without waiting for the event loop', async () => {
      const { result, turns } = await turnsDuring(() =>
        parseConnectDeliveryYielding(fixture('envelope-completed.json'), JSON_TYPE),
      );

      expect(result.ok).toBe(true);
      expect(turns).toBe(0);
    });

    it.each([
      ['a large body with a spoiled PDF', () => jsonDelivery(`${base64.slice(0, 2 * MIB)}!!!!`)],
      ['a large body cut short', () => jsonDelivery(base64).subarray(0, 3 * MIB)],
      [
        'a large XML body',
        () => Buffer.from(legacyXml('<Status>Completed</Status>', 'x'.repeat(2 * MIB))),
      ],
    ])('gives the same answer as parseConnectDelivery for %s', async (_label, makeBody) => {
      const body = makeBody();
      const type = body.subarray(0, 5).toString() === '<?xml' ? XML_TYPE : JSON_TYPE;

      expect(await parseConnectDeliveryYielding(body, type)).toEqual(
        parseConnectDelivery(body, type),
      );
    });
  });
});

describe('parseConnectDeliveryYielding: the answers of parseConnectDelivery, in steps', () => {
  // trailing whitespace is insignificant in JSON and after an XML root, and takes a body past
  // the 1 MiB under which the yielding parser reads at once
  const padded = (body: Buffer | string) =>
    Buffer.concat([Buffer.from(body), Buffer.alloc(1024 * 1024 + 1, ' ')]);

  it.each([
    'envelope-sent.json',
    'recipient-completed.json',
    'envelope-completed.json',
    'envelope-completed-retry.json',
    'envelope-completed-with-documents.json',
    'envelope-voided.json',
    'envelope-declined.json',
    'template-modified.json',
    'unknown-event.json',
    'recipient-completed-pretty-crlf.json',
    'envelope-completed.xml',
    'envelope-sent.xml',
  ])('reads %s padded past 1 MiB to the event of the fixture itself', async (name) => {
    const body = padded(fixture(name));
    const type = contentTypeOf(name);

    const result = await parseConnectDeliveryYielding(body, type);

    expect(result).toEqual(parseConnectDelivery(body, type));
    expect(result).toEqual(parseConnectDelivery(fixture(name), type));
  });

  it.each([
    ['only whitespace', '', JSON_TYPE],
    ['another media type', fixture('envelope-sent.json'), 'text/plain'],
    ['no media type', fixture('envelope-sent.json'), undefined],
    [
      'a charset other than UTF-8',
      fixture('envelope-sent.json'),
      'application/json; charset=latin1',
    ],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), JSON_TYPE],
    ['JSON cut short', '{"event":"envelope-sent","data":{', JSON_TYPE],
    ['a JSON array', '[1, 2, 3]', JSON_TYPE],
    ['JSON nested too deep', `${'['.repeat(100)}${']'.repeat(100)}`, JSON_TYPE],
    ['an event name that is not a token', '{"event":"a b","data":{}}', JSON_TYPE],
    ['a DTD', `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]>${legacyXml('')}`, XML_TYPE],
    ['XML cut short', legacyXml('<Status>Completed</Status>').slice(0, -10), XML_TYPE],
    ['another XML root', '<?xml version="1.0"?><Envelope/>', XML_TYPE],
  ])('refuses a large body with %s with the same reason and detail', async (_label, body, type) => {
    const large = padded(body);
    const expected = parseConnectDelivery(large, type);

    expect(expected.ok).toBe(false);
    expect(await parseConnectDeliveryYielding(large, type)).toEqual(expected);
  });
});
