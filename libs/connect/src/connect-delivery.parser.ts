import { readJsonDelivery } from './connect-json.parser.js';
import { readXmlDelivery } from './connect-xml.parser.js';
import type { ParseResult, ParseResultDocs } from './connect-event.js';
import { type ReadOutcome, type ReadingSteps, rejectBody } from './delivery-reading.js';
import { deliveryFormatOf } from './media-type.js';

/**
 * Reads a Connect delivery body into a {@link ConnectEvent}: JSON SIM for `application/json`,
 * legacy XML for `text/xml` or `application/xml` (a charset parameter, when present, must be
 * UTF-8). Any other or missing content type, an empty body, malformed JSON or XML, a DTD, or a
 * body that is not a Connect event gives a typed rejection; it never throws.
 */
export function parseConnectDelivery(body: Buffer, contentType: string | undefined): ParseResult {
  return toParseResult(readAtOnce(readDelivery(body, contentType)));
}

/**
 * {@link parseConnectDelivery} for a server: the same checks and result, but a body over 1 MiB is
 * read in steps with the event loop free between them (decoding, parsing, each PDF's base64), so
 * one large delivery does not hold up the small ones arriving meanwhile.
 */
export async function parseConnectDeliveryYielding(
  body: Buffer,
  contentType: string | undefined,
): Promise<ParseResult> {
  const steps = readDelivery(body, contentType);
  if (body.length <= STEPPED_BODY_MIN_BYTES) return toParseResult(readAtOnce(steps));

  let step = nextStep(steps);
  while (step.done !== true) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    step = nextStep(steps);
  }
  return toParseResult(step.value);
}

/**
 * Decodes the PDFs a delivery carries (JSON `envelopeSummary.envelopeDocuments[].PDFBytes`, XML
 * `DocumentPDFs/DocumentPDF/PDFBytes`), after the same checks as {@link parseConnectDelivery}.
 */
export function extractDocuments(body: Buffer, contentType: string | undefined): ParseResultDocs {
  const outcome = readAtOnce(readDelivery(body, contentType));
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

const STEPPED_BODY_MIN_BYTES = 1024 * 1024;

function toParseResult(outcome: ReadOutcome): ParseResult {
  return outcome.ok ? { ok: true, event: outcome.reading.event } : outcome;
}

function readAtOnce(steps: ReadingSteps): ReadOutcome {
  let step = nextStep(steps);
  while (step.done !== true) step = nextStep(steps);
  return step.value;
}

function nextStep(steps: ReadingSteps): IteratorResult<void, ReadOutcome> {
  try {
    return steps.next();
  } catch {
    // the readers return every rejection they know of; this keeps the no-throw promise for the rest
    const outcome = rejectBody(
      'body_invalid_event',
      'the body could not be read as a Connect event',
    );
    return { done: true, value: outcome };
  }
}

function* readDelivery(body: Buffer, contentType: string | undefined): ReadingSteps {
  if (isBlank(body)) {
    return rejectBody('body_empty', 'the delivery has no body');
  }

  const format = deliveryFormatOf(contentType);
  if (format === undefined) {
    const shown = contentType === undefined ? '(none)' : JSON.stringify(contentType.slice(0, 100));
    return rejectBody(
      'body_unsupported_media_type',
      `content type ${shown} is not JSON or XML in UTF-8`,
    );
  }
  return yield* format === 'json' ? readJsonDelivery(body) : readXmlDelivery(body);
}

/** Whether the body is only whitespace, as `trim()` of its latin1 text would find, without a copy. */
function isBlank(body: Buffer): boolean {
  for (const byte of body) {
    if (!LATIN1_WHITESPACE.has(byte)) return false;
  }
  return true;
}
