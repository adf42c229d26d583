import type { ConnectEvent, ParseRejection } from './connect-event.js';
import { normaliseTimestamp } from './connect-timestamp.js';
import {
  type CarriedPdf,
  type ReadingSteps,
  canonicalBase64,
  decodeUtf8,
  isEventName,
  isRecord,
  nestsDeeperThan,
  rejectBody,
  toDocumentRef,
} from './delivery-reading.js';

/** Keys that could reach an object's prototype if the parsed value were ever merged. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

const FORBIDDEN_KEY_SPELLINGS = ['__proto__', 'constructor', 'prototype', '\\u'] as const;

const MAX_DEPTH = 64;

const IDENTIFIER_FIELDS = ['accountId', 'userId', 'envelopeId', 'templateId'] as const;

/**
 * Reads a JSON SIM delivery (REST v2.1 event model). Keys named `__proto__`, `constructor` or
 * `prototype` are dropped while parsing. The event's `data` is the body's `data` without the
 * base64 `PDFBytes` of `envelopeSummary.envelopeDocuments[]`: those are counted in `documents`.
 */
export function* readJsonDelivery(body: Buffer): ReadingSteps {
  const parsed = yield* parseJsonBody(body);
  if (!parsed.ok) return parsed;
  const root = parsed.root;
  // the decoded text is garbage from here on: only the parsed tree is held through later steps
  yield;

  if (nestsDeeperThan(root, MAX_DEPTH)) {
    return rejectBody('body_invalid_event', `the body nests deeper than ${MAX_DEPTH} levels`);
  }
  if (!isRecord(root)) return rejectBody('body_invalid_event', 'the body is not a JSON object');

  const { event, apiVersion, uri, retryCount, configurationId, generatedDateTime, data } = root;
  if (typeof event !== 'string' || !isEventName(event)) {
    return rejectBody('body_invalid_event', '`event` must be an event name (letters, digits, -._)');
  }
  if (!isRecord(data)) return rejectBody('body_invalid_event', '`data` must be an object');
  if (apiVersion !== undefined && typeof apiVersion !== 'string') {
    return rejectBody('body_invalid_event', '`apiVersion` must be a string');
  }
  if (uri !== undefined && typeof uri !== 'string') {
    return rejectBody('body_invalid_event', '`uri` must be a string');
  }
  if (retryCount !== undefined && !isCount(retryCount)) {
    return rejectBody('body_invalid_event', '`retryCount` must be an integer >= 0');
  }
  if (configurationId !== undefined && !isCount(configurationId)) {
    return rejectBody('body_invalid_event', '`configurationId` must be an integer >= 0');
  }
  let generatedAt: string | undefined;
  if (generatedDateTime !== undefined) {
    generatedAt =
      typeof generatedDateTime === 'string' ? normaliseTimestamp(generatedDateTime) : undefined;
    if (generatedAt === undefined) {
      return rejectBody('body_invalid_event', '`generatedDateTime` must be an ISO 8601 timestamp');
    }
  }

  const identifiers: Partial<Record<(typeof IDENTIFIER_FIELDS)[number], string>> = {};
  for (const field of IDENTIFIER_FIELDS) {
    const value = data[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      return rejectBody('body_invalid_event', `\`data.${field}\` must be a string`);
    }
    identifiers[field] = value;
  }
  const recipientId = data.recipientId;
  if (recipientId !== undefined && typeof recipientId !== 'string' && !isCount(recipientId)) {
    return rejectBody('body_invalid_event', '`data.recipientId` must be a string');
  }

  const summary = yield* readSummary(data.envelopeSummary);
  if (!summary.ok) return rejectBody('body_invalid_event', summary.detail);

  const eventModel: ConnectEvent = {
    format: 'json',
    event,
    ...(apiVersion !== undefined && { apiVersion }),
    ...(uri !== undefined && { uri }),
    ...(retryCount !== undefined && { retryCount }),
    ...(configurationId !== undefined && { configurationId }),
    ...(generatedAt !== undefined && { generatedAt }),
    ...identifiers,
    ...(recipientId !== undefined && { recipientId: String(recipientId) }),
    ...(summary.status !== undefined && { status: summary.status }),
    ...((summary.statusChangedAt ?? generatedAt) !== undefined && {
      statusChangedAt: summary.statusChangedAt ?? generatedAt,
    }),
    ...(summary.subject !== undefined && { subject: summary.subject }),
    documents: summary.pdfs.map(toDocumentRef),
    data:
      summary.strippedSummary === undefined
        ? data
        : { ...data, envelopeSummary: summary.strippedSummary },
  };
  return { ok: true, reading: { event: eventModel, pdfs: summary.pdfs } };
}

function* parseJsonBody(
  body: Buffer,
): Generator<void, { readonly ok: true; readonly root: unknown } | ParseRejection> {
  const text = decodeUtf8(body);
  if (text === undefined) return rejectBody('body_malformed_json', 'the body is not UTF-8');
  yield;

  try {
    return {
      ok: true,
      root: JSON.parse(text, mayNameForbiddenKey(text) ? dropForbiddenKeys : undefined),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : 'unreadable';
    return rejectBody('body_malformed_json', `the body is not JSON: ${message.slice(0, 120)}`);
  }
}

/**
 * Whether the text could hold a forbidden key. A key spells its name either literally or with
 * `\\u` escapes, so a body with neither needs no reviver (most of a parse's cost, and on a large
 * body with many keys, seconds). Plain substring searches keep the scan linear and cheap at any
 * size; base64 documents never hold a backslash, and a stray literal match only costs the reviver.
 */
function mayNameForbiddenKey(text: string): boolean {
  return FORBIDDEN_KEY_SPELLINGS.some((spelling) => text.includes(spelling));
}

function dropForbiddenKeys(key: string, value: unknown): unknown {
  return FORBIDDEN_KEYS.has(key) ? undefined : value;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

type SummaryReading =
  | {
      readonly ok: true;
      readonly status?: string;
      readonly statusChangedAt?: string;
      readonly subject?: string;
      readonly pdfs: readonly CarriedPdf[];
      readonly strippedSummary?: Record<string, unknown>;
    }
  | { readonly ok: false; readonly detail: string };

function* readSummary(summary: unknown): Generator<void, SummaryReading> {
  if (summary === undefined) return { ok: true, pdfs: [] };
  if (!isRecord(summary)) return { ok: false, detail: '`data.envelopeSummary` must be an object' };

  const { status, statusChangedDateTime, emailSubject, envelopeDocuments } = summary;
  if (status !== undefined && typeof status !== 'string') {
    return { ok: false, detail: '`envelopeSummary.status` must be a string' };
  }
  if (emailSubject !== undefined && typeof emailSubject !== 'string') {
    return { ok: false, detail: '`envelopeSummary.emailSubject` must be a string' };
  }
  let statusChangedAt: string | undefined;
  if (statusChangedDateTime !== undefined) {
    statusChangedAt =
      typeof statusChangedDateTime === 'string'
        ? normaliseTimestamp(statusChangedDateTime)
        : undefined;
    if (statusChangedAt === undefined) {
      return {
        ok: false,
        detail: '`envelopeSummary.statusChangedDateTime` must be an ISO 8601 timestamp',
      };
    }
  }

  const documents = yield* readEnvelopeDocuments(envelopeDocuments);
  if (!documents.ok) return documents;

  return {
    ok: true,
    ...(status !== undefined && { status: status.toLowerCase() }),
    ...(statusChangedAt !== undefined && { statusChangedAt }),
    ...(emailSubject !== undefined && { subject: emailSubject }),
    pdfs: documents.pdfs,
    ...(documents.stripped !== undefined && {
      strippedSummary: { ...summary, envelopeDocuments: documents.stripped },
    }),
  };
}

type DocumentsReading =
  | { readonly ok: true; readonly pdfs: readonly CarriedPdf[]; readonly stripped?: unknown[] }
  | { readonly ok: false; readonly detail: string };

function* readEnvelopeDocuments(documents: unknown): Generator<void, DocumentsReading> {
  if (documents === undefined) return { ok: true, pdfs: [] };
  if (!Array.isArray(documents)) {
    return { ok: false, detail: '`envelopeSummary.envelopeDocuments` must be an array' };
  }

  const pdfs: CarriedPdf[] = [];
  const stripped: unknown[] = [];
  for (const [index, document] of documents.entries()) {
    const where = `\`envelopeSummary.envelopeDocuments[${index}]\``;
    if (!isRecord(document)) return { ok: false, detail: `${where} must be an object` };
    const { PDFBytes, ...rest } = document;
    stripped.push(rest);
    if (PDFBytes === undefined) continue;

    const { documentId, name } = document;
    if (typeof documentId !== 'string' || typeof name !== 'string') {
      return { ok: false, detail: `${where} carries a PDF without a documentId and name` };
    }
    const base64 = typeof PDFBytes === 'string' ? canonicalBase64(PDFBytes) : undefined;
    if (base64 === undefined) return { ok: false, detail: `${where}.PDFBytes is not base64` };
    pdfs.push({ documentId, name, base64 });
    yield;
  }
  return { ok: true, pdfs, stripped };
}
