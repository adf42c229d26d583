import { XMLParser, XMLValidator } from 'fast-xml-parser';

import type { ConnectEvent } from './connect-event.js';
import { normaliseTimestamp, timeZoneOffsetMinutes } from './connect-timestamp.js';
import {
  type CarriedPdf,
  type ReadOutcome,
  type ReadingSteps,
  canonicalBase64,
  decodeUtf8,
  isEventName,
  isRecord,
  rejectBody,
  toDocumentRef,
} from './delivery-reading.js';
import { decodeXmlText } from './xml-text.js';

const DOCUSIGN_NAMESPACE = 'http://www.docusign.net/API/3.0';
const XSI_NAMESPACE = 'http://www.w3.org/2001/XMLSchema-instance';
const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
const ROOT_ELEMENT = 'DocuSignEnvelopeInformation';

/** A DTD is never needed for Connect and is how XXE and entity expansion attacks start. */
const DTD_DECLARATION = /<!\s*(?:DOCTYPE|ENTITY)/i;

const MAX_DEPTH = 64;

/** Elements that repeat in the legacy schema: always rendered as arrays, even when alone. */
const LIST_ELEMENTS = new Set([
  'RecipientStatus',
  'TabStatus',
  'CustomField',
  'DocumentStatus',
  'DocumentPDF',
  'AttachmentStatus',
  'FormData',
]);

/** Envelope statuses whose same-named `EnvelopeStatus` child holds the time of that status. */
const TIMESTAMPED_STATUSES = new Set([
  'Created',
  'Sent',
  'Delivered',
  'Signed',
  'Completed',
  'Declined',
  'Voided',
]);

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  maxNestedTags: MAX_DEPTH,
});

type NamespaceScope = ReadonlyMap<string, string>;

class MalformedText extends Error {}

/**
 * Reads a legacy `DocuSignEnvelopeInformation` delivery. Any DTD is refused before parsing, so no
 * entity is ever defined or expanded; only the predefined entities and character references
 * decode. Element names are resolved against their namespaces: the root must be
 * `DocuSignEnvelopeInformation` in `http://www.docusign.net/API/3.0`, and elements of other
 * namespaces are left out of the rendering.
 *
 * The envelope `Status` (`Completed`) becomes the JSON SIM event name (`envelope-completed`).
 * Timestamps carry no offset in this format: they are read as local time at `TimeZoneOffset`
 * hours east of UTC, and as UTC when the delivery has no `TimeZoneOffset`. The event's `data`
 * renders `EnvelopeStatus` (repeated elements as arrays, `xsi:nil` as null); the PDFs in
 * `DocumentPDFs` are counted in `documents`, never copied into `data`.
 */
export function* readXmlDelivery(body: Buffer): ReadingSteps {
  if (DTD_DECLARATION.test(body.toString('latin1'))) {
    return rejectBody('body_forbidden_dtd', 'the body declares a DTD or entity; none is accepted');
  }
  yield;
  const text = decodeUtf8(body);
  if (text === undefined) return rejectBody('body_malformed_xml', 'the body is not UTF-8');
  yield;

  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { msg, line } = validation.err;
    return rejectBody('body_malformed_xml', `the body is not XML: ${msg} (line ${line})`);
  }
  yield;

  let root: Record<string, unknown>;
  try {
    const document: unknown = parser.parse(text);
    const rendered = renderDocument(document);
    if (typeof rendered === 'string') return rejectBody('body_invalid_event', rendered);
    root = rendered;
  } catch (error) {
    if (error instanceof MalformedText) {
      return rejectBody('body_malformed_xml', 'the body uses an undefined entity or reference');
    }
    const message = error instanceof Error ? error.message : 'unreadable';
    return rejectBody('body_malformed_xml', `the body is not XML: ${message.slice(0, 120)}`);
  }

  return readEnvelopeInformation(root);
}

/** Renders the root element, or says why the document is not a Connect envelope. */
function renderDocument(document: unknown): Record<string, unknown> | string {
  const roots = isRecord(document) ? Object.entries(document) : [];
  if (roots.length !== 1 || Array.isArray(roots[0][1])) {
    return 'the document must have exactly one root element';
  }
  const [qualifiedName, node] = roots[0];
  const scope = scopeOf(node, new Map([['xml', XML_NAMESPACE]]));
  const { namespace, local } = resolveName(qualifiedName, scope);
  if (local !== ROOT_ELEMENT || namespace !== DOCUSIGN_NAMESPACE) {
    return `the root element must be ${ROOT_ELEMENT} in namespace ${DOCUSIGN_NAMESPACE}`;
  }
  const root = renderElement(node, scope);
  return isRecord(root) ? root : `${ROOT_ELEMENT} is empty`;
}

function readEnvelopeInformation(root: Record<string, unknown>): ReadOutcome {
  const envelope = root.EnvelopeStatus;
  if (!isRecord(envelope)) {
    return rejectBody('body_invalid_event', `${ROOT_ELEMENT} has no EnvelopeStatus`);
  }

  let offsetMinutes = 0;
  if (isPresent(root.TimeZoneOffset)) {
    const offset =
      typeof root.TimeZoneOffset === 'string'
        ? timeZoneOffsetMinutes(root.TimeZoneOffset)
        : undefined;
    if (offset === undefined) {
      return rejectBody('body_invalid_event', 'TimeZoneOffset must be a number of hours');
    }
    offsetMinutes = offset;
  }

  const status = envelope.Status;
  const event = typeof status === 'string' ? `envelope-${status.toLowerCase()}` : '';
  if (typeof status !== 'string' || !isEventName(event)) {
    return rejectBody('body_invalid_event', 'EnvelopeStatus/Status must be an envelope status');
  }

  const generatedAt = readTimestamp(envelope.TimeGenerated, offsetMinutes);
  if (generatedAt === null) {
    return rejectBody('body_invalid_event', 'TimeGenerated must be a timestamp');
  }
  const statusTime = TIMESTAMPED_STATUSES.has(status) ? envelope[status] : undefined;
  const statusChangedAt = readTimestamp(statusTime, offsetMinutes);
  if (statusChangedAt === null) {
    return rejectBody('body_invalid_event', `EnvelopeStatus/${status} must be a timestamp`);
  }

  const envelopeId = optionalText(envelope.EnvelopeID);
  const subject = optionalText(envelope.Subject);
  const accountId = customFieldValue(envelope.CustomFields, 'AccountId');

  const pdfs = readDocumentPdfs(root.DocumentPDFs);
  if (typeof pdfs === 'string') return rejectBody('body_invalid_event', pdfs);

  const eventModel: ConnectEvent = {
    format: 'xml',
    event,
    ...(generatedAt !== undefined && { generatedAt }),
    ...(accountId !== undefined && { accountId }),
    ...(envelopeId !== undefined && { envelopeId }),
    status: status.toLowerCase(),
    ...((statusChangedAt ?? generatedAt) !== undefined && {
      statusChangedAt: statusChangedAt ?? generatedAt,
    }),
    ...(subject !== undefined && { subject }),
    documents: pdfs.map(toDocumentRef),
    data: envelope,
  };
  return { ok: true, reading: { event: eventModel, pdfs } };
}

/** `undefined` when absent or empty, `null` when present but not a timestamp. */
function readTimestamp(value: unknown, offsetMinutes: number): string | undefined | null {
  if (!isPresent(value)) return undefined;
  return (typeof value === 'string' && normaliseTimestamp(value, offsetMinutes)) || null;
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function customFieldValue(customFields: unknown, name: string): string | undefined {
  if (!isRecord(customFields) || !Array.isArray(customFields.CustomField)) return undefined;
  const field: unknown = customFields.CustomField.find(
    (candidate) => isRecord(candidate) && candidate.Name === name,
  );
  return isRecord(field) ? optionalText(field.Value) : undefined;
}

/** The carried PDFs, or why they cannot be read. */
function readDocumentPdfs(documentPdfs: unknown): CarriedPdf[] | string {
  if (!isPresent(documentPdfs)) return [];
  const list = isRecord(documentPdfs) ? documentPdfs.DocumentPDF : undefined;
  if (!Array.isArray(list)) return 'DocumentPDFs must hold DocumentPDF elements';

  const pdfs: CarriedPdf[] = [];
  for (const [index, pdf] of list.entries()) {
    const where = `DocumentPDFs/DocumentPDF[${index + 1}]`;
    if (!isRecord(pdf)) return `${where} is empty`;
    const documentId = optionalText(pdf.DocumentID);
    const name = optionalText(pdf.Name);
    if (documentId === undefined || name === undefined) {
      return `${where} needs a DocumentID and a Name`;
    }
    const base64 = typeof pdf.PDFBytes === 'string' ? canonicalBase64(pdf.PDFBytes) : undefined;
    if (base64 === undefined) return `${where}/PDFBytes is not base64`;
    pdfs.push({ documentId, name, base64 });
  }
  return pdfs;
}

function scopeOf(node: unknown, parent: NamespaceScope): NamespaceScope {
  if (!isRecord(node)) return parent;
  let scope: Map<string, string> | undefined;
  for (const [key, value] of Object.entries(node)) {
    if (key !== '@_xmlns' && !key.startsWith('@_xmlns:')) continue;
    scope ??= new Map(parent);
    scope.set(key === '@_xmlns' ? '' : key.slice('@_xmlns:'.length), decoded(String(value)));
  }
  return scope ?? parent;
}

function resolveName(
  qualifiedName: string,
  scope: NamespaceScope,
): { namespace: string | undefined; local: string } {
  const colon = qualifiedName.indexOf(':');
  if (colon === -1) return { namespace: scope.get(''), local: qualifiedName };
  return {
    namespace: scope.get(qualifiedName.slice(0, colon)),
    local: qualifiedName.slice(colon + 1),
  };
}

/** Renders one element: children as an object, a nil element as null, otherwise its text. */
function renderElement(node: unknown, scope: NamespaceScope): unknown {
  if (!isRecord(node)) return decoded(String(node));

  const children = new Map<string, unknown[]>();
  let nil = false;
  for (const [key, value] of Object.entries(node)) {
    if (key === '#text' || key === '#cdata') continue;
    if (key.startsWith('@_')) {
      const attribute = key.slice(2);
      nil ||= attribute.includes(':') && isXsiNil(attribute, value, scope);
      continue;
    }
    for (const item of Array.isArray(value) ? (value as unknown[]) : [value]) {
      const itemScope = scopeOf(item, scope);
      const { namespace, local } = resolveName(key, itemScope);
      if (namespace !== DOCUSIGN_NAMESPACE || FORBIDDEN_NAMES.has(local)) continue;
      const rendered = renderElement(item, itemScope);
      const siblings = children.get(local);
      if (siblings === undefined) children.set(local, [rendered]);
      else siblings.push(rendered);
    }
  }

  if (children.size > 0) {
    return Object.fromEntries(
      [...children].map(([name, values]) => [
        name,
        LIST_ELEMENTS.has(name) || values.length > 1 ? values : values[0],
      ]),
    );
  }
  if (nil) return null;
  const text = typeof node['#text'] === 'string' ? decoded(node['#text']) : '';
  const cdata = [node['#cdata']].flat().filter((part) => typeof part === 'string');
  return text + cdata.join('');
}

function isXsiNil(attribute: string, value: unknown, scope: NamespaceScope): boolean {
  const { namespace, local } = resolveName(attribute, scope);
  return namespace === XSI_NAMESPACE && local === 'nil' && (value === 'true' || value === '1');
}

function decoded(text: string): string {
  const value = decodeXmlText(text);
  if (value === undefined) throw new MalformedText();
  return value;
}
