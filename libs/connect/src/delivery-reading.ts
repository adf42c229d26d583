import type {
  ConnectDocumentRef,
  ConnectEvent,
  ConnectParseReason,
  ParseRejection,
} from './connect-event.js';

/** A PDF as it sits in the body: still base64, already checked to decode cleanly. */
export interface CarriedPdf {
  readonly documentId: string;
  readonly name: string;
  readonly base64: string;
}

/** What one read of a body yields: the event and the PDFs it carried. */
export interface DeliveryReading {
  readonly event: ConnectEvent;
  readonly pdfs: readonly CarriedPdf[];
}

export type ReadOutcome = { readonly ok: true; readonly reading: DeliveryReading } | ParseRejection;

/**
 * A read in steps: each `yield` falls after a costly pass over a large body (decoding, parsing,
 * one PDF's base64), so a caller may let other work run before the next step.
 */
export type ReadingSteps = Generator<void, ReadOutcome>;

/** Event names are tokens: they end up in logs, metric labels and job names. */
const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

// no nested quantifiers: a grouped `(?:x{4})*` recurses per group in V8 and overflows the stack on
// a PDF of a few MiB; the length and padding rules are checked beside them
const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/;
const BASE64_ALPHABET_THEN_PADDING = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_LINE_BREAKS = /[\t\n\r ]+/g;
/** Base64 is checked in slices of this many characters (a multiple of 4). */
const BASE64_SLICE_LENGTH = 1024 * 1024;

export function rejectBody(reason: ConnectParseReason, detail: string): ParseRejection {
  return { ok: false, reason, detail };
}

export function isEventName(value: string): boolean {
  return EVENT_NAME.test(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Strips the line breaks base64 may carry; `undefined` when what is left is not base64. */
export function canonicalBase64(value: string): string | undefined {
  const compact = hasLineBreaks(value) ? value.replace(BASE64_LINE_BREAKS, '') : value;
  return isStrictBase64(compact) ? compact : undefined;
}

/**
 * Standard base64 with its padding, checked in linear time whatever the length: node decodes and
 * re-encodes each slice natively, and text that comes back unchanged is canonical base64; only a
 * slice that does not (bad characters, or non-zero bits in the last character) is matched
 * against the alphabet, which is slow on large text but never needed for a genuine PDF.
 */
export function isStrictBase64(value: string): boolean {
  if (value.length % 4 !== 0) return false;
  for (let start = 0; start < value.length; start += BASE64_SLICE_LENGTH) {
    const slice = value.slice(start, start + BASE64_SLICE_LENGTH);
    const last = start + BASE64_SLICE_LENGTH >= value.length;
    if (!last && slice.endsWith('=')) return false;
    if (Buffer.from(slice, 'base64').toString('base64') === slice) continue;
    if (!(last ? BASE64_ALPHABET_THEN_PADDING : BASE64_ALPHABET).test(slice)) return false;
  }
  return true;
}

function hasLineBreaks(value: string): boolean {
  return ['\n', '\r', '\t', ' '].some((character) => value.includes(character));
}

/** The number of bytes a canonical base64 string decodes to. */
export function decodedSize(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

/** Decodes a body as strict UTF-8 (a leading BOM is dropped); `undefined` when it is not. */
export function decodeUtf8(body: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/** True when `value` nests objects or arrays deeper than `limit`, checked without recursion. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}

/** The reference an event keeps for a carried PDF. */
export function toDocumentRef(pdf: CarriedPdf): ConnectDocumentRef {
  return { documentId: pdf.documentId, name: pdf.name, sizeBytes: decodedSize(pdf.base64) };
}
