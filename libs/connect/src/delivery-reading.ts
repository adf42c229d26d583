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

/** Event names are tokens: they end up in logs, metric labels and job names. */
const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

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
  const compact = value.replace(/[\t\n\r ]+/g, '');
  return BASE64.test(compact) ? compact : undefined;
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
