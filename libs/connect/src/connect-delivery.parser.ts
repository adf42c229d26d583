import { readJsonDelivery } from './connect-json.parser.js';
import { readXmlDelivery } from './connect-xml.parser.js';
import type { ParseResult, ParseResultDocs } from './connect-event.js';
import { type ReadOutcome, rejectBody } from './delivery-reading.js';
import { deliveryFormatOf } from './media-type.js';

/**
 * Reads a Connect delivery body into a {@link ConnectEvent}: JSON SIM for `application/json`,
 * legacy XML for `text/xml` or `application/xml` (a charset parameter, when present, must be
 * UTF-8). Any other or missing content type, an empty body, malformed JSON or XML, a DTD, or a
 * body that is not a Connect event gives a typed rejection; it never throws.
 */
export function parseConnectDelivery(body: Buffer, contentType: string | undefined): ParseResult {
  const outcome = readDelivery(body, contentType);
  return outcome.ok ? { ok: true, event: outcome.reading.event } : outcome;
}

/**
 * Decodes the PDFs a delivery carries (JSON `envelopeSummary.envelopeDocuments[].PDFBytes`, XML
 * `DocumentPDFs/DocumentPDF/PDFBytes`), after the same checks as {@link parseConnectDelivery}.
 */
export function extractDocuments(body: Buffer, contentType: string | undefined): ParseResultDocs {
  const outcome = readDelivery(body, contentType);
  if (!outcome.ok) return outcome;
  return {
    ok: true,
    documents: outcome.reading.pdfs.map(({ documentId, name, base64 }) => ({
      documentId,
      name,
      pdf: Buffer.from(base64, 'base64'),
    })),
  };
}

// what String.prototype.trim removes among latin1 characters: TAB, LF, VT, FF, CR, space, NBSP
const LATIN1_WHITESPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0]);

function readDelivery(body: Buffer, contentType: string | undefined): ReadOutcome {
  try {
    if (isBlank(body)) {
      return rejectBody('body_empty', 'the delivery has no body');
    }

    const format = deliveryFormatOf(contentType);
    if (format === undefined) {
      const shown =
        contentType === undefined ? '(none)' : JSON.stringify(contentType.slice(0, 100));
      return rejectBody(
        'body_unsupported_media_type',
        `content type ${shown} is not JSON or XML in UTF-8`,
      );
    }
    return format === 'json' ? readJsonDelivery(body) : readXmlDelivery(body);
  } catch {
    // the readers return every rejection they know of; this keeps the no-throw promise for the rest
    return rejectBody('body_invalid_event', 'the body could not be read as a Connect event');
  }
}

/** Whether the body is only whitespace, as `trim()` of its latin1 text would find, without a copy. */
function isBlank(body: Buffer): boolean {
  for (const byte of body) {
    if (!LATIN1_WHITESPACE.has(byte)) return false;
  }
  return true;
}
